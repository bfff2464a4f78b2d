import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PROXY_HOPS, proxyHopsOf } from '../../src/providers/proxyHops.js';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * A job's inference_url may be another job's proxy URL on the same instance (allowed here by
 * MIPROX_ALLOWED_INFERENCE_HOSTS; a public PUBLIC_URL passes the SSRF policy without it). Each such
 * job is one more nested call, holding sockets and a rollout record: the chain must end.
 */
describe('a chain of jobs whose inference_url is another job\'s proxy URL', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  /** proxy URLs: chain[0] calls the fake model server, chain[i] calls chain[i - 1]. */
  const chain: string[] = [];

  beforeAll(async () => {
    fake = await startFakeUpstream({ reply: 'leaf answer' });
    t = await startTestServer({ env: { MIPROX_ALLOWED_INFERENCE_HOSTS: '127.0.0.1' } });
    let inferenceUrl = fake.url;
    for (let i = 0; i < MAX_PROXY_HOPS + 2; i++) {
      const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ provider: 'openai_compatible', model: 'local', inferenceUrl, proposerProvider: 'sim', proposerModel: 'sim-proposer' }) });
      expect(res.status).toBe(200);
      chain.push(res.body.proxy_url as string);
      inferenceUrl = res.body.proxy_url as string;
    }
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const call = (proxyUrl: string) => api(proxyUrl, 'POST', '/chat/completions', { body: { messages: [{ role: 'user', content: 'hi' }] } });

  it(`serves a call through ${MAX_PROXY_HOPS} miprox proxies, and tells the model server so in Via`, async () => {
    fake.requests.length = 0;
    const res = await call(chain[MAX_PROXY_HOPS - 1]!);
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toBe('leaf answer');
    expect(fake.requests).toHaveLength(1);
    expect(proxyHopsOf(fake.requests[0]!.headers.via)).toBe(MAX_PROXY_HOPS);
  });

  it('refuses the next hop before anything goes upstream, and no hop retries the refusal', async () => {
    fake.requests.length = 0;
    const res = await call(chain[MAX_PROXY_HOPS]!);
    expect(res.status).toBe(502);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(res.body.error.message).toContain(`already passed ${MAX_PROXY_HOPS} miprox proxies`);
    expect(fake.requests).toHaveLength(0);
    // A client's own Via (a balancer's entries) is counted only where it names miprox.
    const direct = await api(chain[0]!, 'POST', '/chat/completions', {
      headers: { via: `1.1 google, ${new Array(MAX_PROXY_HOPS).fill('1.1 miprox').join(', ')}` },
      body: { messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(direct.status).toBe(508);
    expect(direct.body.error.code).toBe('proxy_loop');
    expect(fake.requests).toHaveLength(0);
  });

  it('bounds streamed calls alike', async () => {
    fake.requests.length = 0;
    const stream = (proxyUrl: string) => fetch(`${proxyUrl}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    const served = await stream(chain[MAX_PROXY_HOPS - 1]!);
    expect(served.status).toBe(200);
    expect(await served.text()).toContain('data: [DONE]');
    expect(proxyHopsOf(fake.requests[0]!.headers.via)).toBe(MAX_PROXY_HOPS);
    fake.requests.length = 0;
    const refused = await stream(chain[MAX_PROXY_HOPS]!);
    expect(refused.status).toBe(502);
    expect(await refused.text()).toContain('miprox proxies');
    expect(fake.requests).toHaveLength(0);
  });

  it('counts only Via entries received by miprox', () => {
    expect(proxyHopsOf(undefined)).toBe(0);
    expect(proxyHopsOf('1.1 google, 1.0 fred, HTTP/1.1 miprox (x), 1.1 miproxy')).toBe(1);
    expect(proxyHopsOf(['1.1 miprox', '1.1 MIPROX, 2 miprox'])).toBe(3);
  });
});
