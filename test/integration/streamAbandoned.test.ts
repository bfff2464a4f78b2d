import { describe, expect, it } from 'vitest';
import { LiveStreams } from '../../src/proxy/liveStreams.js';
import { startFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const SYSTEM = 'You are a helpful assistant.';

/**
 * A client that leaves while the upstream stream opens (before the proxy relays anything: an SDK
 * timeout shorter than the model's time to its first token) never runs the relay, whose end untracked
 * the stream and recorded the call. The stream stayed in the live streams for the server's life (a
 * soak run found dozens after 20 minutes, each holding its call and job state) and the rollout had
 * no record of the call.
 */
describe('a streamed call the client leaves while it opens', () => {
  it('is recorded as failed and leaves no live stream behind', async () => {
    const tracked = new Set<() => void>();
    const track = LiveStreams.prototype.track;
    // Counted from outside: the live streams are the server's own (main.ts) and no route shows them.
    LiveStreams.prototype.track = function (this: LiveStreams, stop) {
      const untrack = track.call(this, stop);
      const counted = (): void => {
        tracked.delete(counted);
        untrack();
      };
      tracked.add(counted);
      return counted;
    };
    // The transport reads a stream's opening events before handing it on (upstreamTransport.ts
    // readStreamStart): the client leaves while it waits there, between the role chunk and the text.
    const { fake, t, close } = await startFakeUpstreamServer({ upstream: { reply: 'one two three four', chunks: 4, chunkDelayMs: 400 } });
    try {
      const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: SYSTEM }) })).body;
      const rollouts = 3;
      for (let i = 0; i < rollouts; i++) {
        const ac = new AbortController();
        const asked = fake.stats.requests;
        const pending = fetch(`${job.proxy_url}/left-${i}/chat/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
          body: JSON.stringify({ stream: true, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'x' }] }),
        }).then((res) => res.text()).catch(() => undefined);
        await waitFor(async () => fake.stats.requests > asked, 10_000);
        await new Promise((r) => setTimeout(r, 150));
        ac.abort();
        await pending;
      }
      for (let i = 0; i < rollouts; i++) {
        await waitFor(async () => {
          const view = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/left-${i}`, { key: t.key });
          return view.status === 200 && view.body.call_count === 1;
        }, 10_000);
        const view = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/left-${i}`, { key: t.key });
        expect(view.body.calls[0].failed).toBe(true);
      }
      expect(tracked.size).toBe(0);
      // Nor did the upstream go on generating for nobody: each of its answers was cut short.
      await waitFor(async () => fake.stats.closedEarly === rollouts, 10_000);
    } finally {
      LiveStreams.prototype.track = track;
      await close();
    }
  });
});
