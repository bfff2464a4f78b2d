import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * `miprox_proxy_overhead_seconds` is "the time the proxy adds to an LLM call" (its help text,
 * docs/API.md's /metrics row). Streamed calls were never observed: an app that streams (most agent
 * frameworks do) saw the histogram stay at 0 while miprox_upstream_duration_seconds counted its calls.
 */
const count = async (url: string, name: string): Promise<number> => {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

describe('miprox_proxy_overhead_seconds', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it('observes streamed calls as well as JSON ones', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody() })).body;
    const before = await count(t.url, 'miprox_proxy_overhead_seconds_count');
    const call = async (rolloutId: string, stream: boolean) => {
      const res = await fetch(`${job.proxy_url}/${rolloutId}/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'x', stream, messages: [{ role: 'user', content: 'I lost my card' }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
    };
    await call('r_json', false);
    expect(await count(t.url, 'miprox_proxy_overhead_seconds_count')).toBe(before + 1);
    await call('r_stream', true);
    expect(await count(t.url, 'miprox_proxy_overhead_seconds_count')).toBe(before + 2);
  });
});
