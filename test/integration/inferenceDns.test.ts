import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * Issue 14, item 8: an inference_url whose name resolves to a private address is refused at connect
 * time (the name passes the syntactic check at job creation), and an allowed name connects to the
 * address that was checked. DNS is stood in for by the server's resolveHost option: no real lookup.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const CALL = { messages: [{ role: 'user', content: 'hi' }] };

describe('inference_url names are resolved and checked', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  let port: string;
  const lookups: string[] = [];
  beforeAll(async () => {
    fake = await startFakeUpstream({ reply: 'ok' });
    port = new URL(fake.url).port;
    const table: Record<string, LookupAddress[]> = {
      'rebind.example.com': [{ address: '127.0.0.1', family: 4 }],
      'allowed.example.com': [{ address: '127.0.0.1', family: 4 }],
    };
    t = await startTestServer({
      env: { MIPROX_ALLOWED_INFERENCE_HOSTS: `allowed.example.com:${port}`, OPENAI_API_KEY: 'sk-test-unused' },
      start: {
        resolveHost: async (host) => {
          lookups.push(host);
          const found = table[host];
          if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
          return found;
        },
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  const jobFor = async (host: string) => {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ provider: 'openai_compatible', model: 'local', inferenceUrl: `http://${host}:${port}/v1`, initialPrompt: 'Classify.' }) });
    expect(res.status).toBe(200);
    return res.body as { proxy_url: string };
  };

  it('refuses a public-looking name that resolves to loopback, without sending anything there', async () => {
    const job = await jobFor('rebind.example.com');
    const before = fake.requests.length;
    const res = await api(job.proxy_url, 'POST', '/chat/completions', { body: CALL });
    expect(res.status).toBe(502);
    expect(res.body.error.message).toMatch(/rebind\.example\.com resolves to 127\.0\.0\.1, which is a loopback address/);
    expect(fake.requests.length).toBe(before);
    expect(lookups).toContain('rebind.example.com');
  });

  it('connects an allowlisted name to the address it checked', async () => {
    const job = await jobFor('allowed.example.com');
    const res = await api(job.proxy_url, 'POST', '/chat/completions', { body: CALL });
    expect(res.status).toBe(200);
    expect(fake.requests.at(-1)!.headers.host).toBe(`allowed.example.com:${port}`);
  });
});
