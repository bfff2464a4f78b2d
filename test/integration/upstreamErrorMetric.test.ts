import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

/**
 * `miprox_upstream_duration_seconds{outcome}` has an `error` outcome, but only a stream that failed
 * mid-way was counted there: a non-streamed call the upstream failed (a 5xx after the retries, a 4xx)
 * and a stream the upstream refused before it started were not observed at all, so an alert on the
 * upstream error rate never fired for them.
 */
const sample = async (url: string, outcome: 'ok' | 'error'): Promise<number> => {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith(`miprox_upstream_duration_seconds_count{provider="openai",outcome="${outcome}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
};

describe('miprox_upstream_duration_seconds outcome="error"', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ upstream: { reply: 'ok' }, env: { UPSTREAM_MAX_RETRIES: '0' } }, (s) => ({ fake, t } = s));

  it('counts failed non-streamed calls and streams refused before their start', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody() })).body;
    const call = async (rolloutId: string, stream: boolean) => {
      const res = await fetch(`${job.proxy_url}/${rolloutId}/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'x', stream, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await res.text();
      return res.status;
    };
    expect(await call('r_ok', false)).toBe(200);
    expect(await sample(t.url, 'ok')).toBe(1);
    fake.setBehavior({ fail: { status: 500, message: 'upstream broke' } });
    expect(await call('r_fail_json', false)).toBe(502);
    expect(await sample(t.url, 'error')).toBe(1);
    expect(await call('r_fail_stream', true)).toBe(502);
    expect(await sample(t.url, 'error')).toBe(2);
    expect(await sample(t.url, 'ok')).toBe(1);
  });
});
