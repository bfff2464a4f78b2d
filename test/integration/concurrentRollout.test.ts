import { describe, expect, it } from 'vitest';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, addCandidates, api, seedJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * Calls of one rollout can arrive together (an agent's parallel tool calls, a client retry). On
 * PostgreSQL the rollout lookup is asynchronous, so both calls used to miss it and each pick a
 * candidate: one rollout served by two instructions, its reward credited to the wrong one.
 */
describe('concurrent calls of one new rollout id (PostgreSQL)', () => {
  let t: TestServer;
  useFakeUpstreamServer({ db: 'postgres', upstream: { reply: 'ok' } }, (s) => ({ t } = s));

  it('serve the same candidate and leave the reward with it', async () => {
    // R = 1: every fresh dispatch is a new draw over four candidates, so a race shows at once.
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.', mipro: { online_rollouts_per_candidate: 1 } }) })).body as { job_id: string; proxy_url: string };
    const store = t.server.store;
    await addCandidates(store, job.job_id, ['cand_A', 'cand_B', 'cand_C']);
    await new Promise((r) => setTimeout(r, 1100)); // the instance's candidate cache sees the new ones
    for (let i = 0; i < 30; i++) {
      const id = `race-${i}`;
      const calls = await Promise.all([0, 1, 2].map(() =>
        api(job.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'x' }] } })));
      const served = new Set(calls.map((c) => c.headers.get('x-mipro-candidate-id')));
      expect(served.size, `rollout ${id} was served by ${[...served].join(', ')}`).toBe(1);
      const stored = await store.getRollout(job.job_id, id);
      expect(stored?.candidateId).toBe([...served][0]);
      const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${job.job_id}/reward`, { key: t.key, body: { rollout_id: id, reward_info: { score: 1 } } });
      expect(reward.body.candidate_id).toBe(stored?.candidateId);
    }
  });
});
