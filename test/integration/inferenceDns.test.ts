import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * Issue 14, item 8: an inference_url whose name resolves to a private address is refused at job
 * creation, and again at connect time when the name changes its answer afterwards (rebinding); an
 * allowed name connects to the address that was checked. DNS is stood in for by the server's
 * resolveHost option: no real lookup.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const CALL = { messages: [{ role: 'user', content: 'hi' }] };

describe('inference_url names are resolved and checked', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  let port: string;
  const lookups: string[] = [];
  let table: Record<string, LookupAddress[]> = {};
  beforeAll(async () => {
    fake = await startFakeUpstream({ reply: 'ok' });
    port = new URL(fake.url).port;
    table = {
      'rebind.example.com': [{ address: '93.184.216.34', family: 4 }],
      'loopback.example.com': [{ address: '203.0.113.7', family: 4 }, { address: '127.0.0.1', family: 4 }],
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

  it('refuses at creation a name that resolves to loopback now (any of its addresses)', async () => {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ provider: 'openai_compatible', model: 'local', inferenceUrl: `http://loopback.example.com:${port}/v1`, initialPrompt: 'Classify.' }) });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'policy_optimization.policy.inference_url', message: expect.stringMatching(/loopback\.example\.com resolves to a loopback address; add it to MIPROX_ALLOWED_INFERENCE_HOSTS/) }]);
    // What the name resolved to is the server's: a tenant learns the kind of address, not the address.
    expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
  });

  it('refuses a name that resolves to loopback after the job was created, without sending anything there', async () => {
    const job = await jobFor('rebind.example.com');
    table['rebind.example.com'] = [{ address: '127.0.0.1', family: 4 }]; // the name's answer changes
    const before = fake.requests.length;
    const res = await api(job.proxy_url, 'POST', '/chat/completions', { body: CALL });
    expect(res.status).toBe(502);
    expect(res.body.error.message).toMatch(/rebind\.example\.com resolves to a loopback address/);
    expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
    // The same call would be refused again: the client's SDK is told not to retry it.
    expect(res.headers.get('x-should-retry')).toBe('false');
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
