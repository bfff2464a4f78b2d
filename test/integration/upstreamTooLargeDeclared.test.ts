import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

/**
 * A JSON answer whose declared content-length is over UPSTREAM_MAX_RESPONSE_BYTES was refused before
 * a byte of it was read, by destroying its body; undici's body then emits an 'error' event
 * (RequestAbortedError) that nothing listened to, and the process died with "Unhandled 'error'
 * event" just after answering the 502 (seen deploying: every instance a call of a big answer reached
 * went down, and the streams it carried were reset). The server must answer the 502 and live on.
 */
describe('an upstream answer declared over UPSTREAM_MAX_RESPONSE_BYTES', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ upstream: { reply: 'ok' }, env: { UPSTREAM_MAX_RESPONSE_BYTES: '1024' } }, (s) => ({ fake, t } = s));

  it('is a 502 and the server goes on serving', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => void uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body;
      const call = (rolloutId: string) => api(job.proxy_url, 'POST', `/${rolloutId}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } });
      fake.setBehavior({ reply: 'x'.repeat(5000) });
      for (let i = 0; i < 3; i++) {
        const res = await call(`big-${i}`);
        expect([res.status, res.body.error?.code]).toEqual([502, 'upstream_response_too_large']);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(uncaught.map(String)).toEqual([]);
      fake.setBehavior({ reply: 'ok' });
      expect((await call('small')).status).toBe(200);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
