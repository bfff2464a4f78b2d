import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const SYSTEM = 'Answer the question.';

/**
 * A live proposal outlasts nothing but its own lease: the lease sweep (every 50 ms here) must never
 * take it for abandoned. Its two proposer calls (the dataset summary and the proposal) both time out
 * here, and a timed-out call ends up to ~1 s after PROPOSER_TIMEOUT_MS (undici checks its timeouts on
 * a 0.5 s tick; 500 ms calls took 1.0 s): with a lease of 3 x PROPOSER_TIMEOUT_MS (1.5 s), every run
 * of this test ended the live proposal as "lease expired" before its runner wrote the timeout. The
 * lease is now 3 x (PROPOSER_TIMEOUT_MS + 1 s): 4.5 s against about 2 s of work.
 */
describe('a live proposal whose proposer calls time out', () => {
  let proposer: FakeUpstream;
  let t: TestServer;

  useProposerServer({
    policy: { reply: 'ok' },
    proposer: { hang: true },
    env: { PROPOSER_TIMEOUT_MS: '500' },
    start: { cacheTtlMs: 20, proposalSweepIntervalMs: 50 },
  }, (s) => ({ proposer, t } = s));

  it('is ended by its runner, naming the timeout, not by the lease sweep', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url, initialPrompt: SYSTEM,
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 2 },
    });
    const created = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const s = created.body as { session_id: string };
    for (let i = 0; i < 3; i++) {
      const next = (await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: t.key })).body;
      const res = await fetch(next.chat_completions_url, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `q${i}` }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
      const r = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: next.rollout_id, reward_info: { score: i % 2 } } });
      expect(r.status).toBe(200);
    }
    await t.server.settled(); // the proposal the last reward started has ended (nothing polls meanwhile)
    const events = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/events?limit=1000`, { key: t.key })).body.events as Array<{ event_type: string; message: string }>;
    expect(proposer.requests.length).toBe(2); // the dataset summary and the proposal, both timed out
    expect(events.filter((e) => e.event_type === 'mipro.proposal.failed').map((e) => e.message))
      .toEqual([expect.stringMatching(/^proposal 1 failed: .* did not answer within 500 ms$/)]);
  });
});
