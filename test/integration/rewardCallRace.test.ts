import { describe, expect, it } from 'vitest';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, addCandidates, api, seedJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * A client that makes its own rollout ids may send a rollout's reward (naming `candidate_id`) while a
 * call of the same new id is still arriving (a retried or parallel call, a reward sent from another
 * worker). On SQLite a call routes by this instance's memory and a read, and the reward only wrote the
 * rollout's record after its own lookups: a call that came in between was served the bandit's choice,
 * its insert then met the reward's record, and the rollout ended up served by one candidate and
 * credited to another (found by a randomized concurrency run over HTTP).
 */
describe.each(['sqlite', 'postgres'] as const)('a reward and a call of one new rollout id at once (%s)', (db) => {
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' } }, (s) => ({ t } = s));

  type Job = { job_id: string; system_id: string; proxy_url: string };
  type Answer = Awaited<ReturnType<typeof api>>;

  /** A job of four candidates whose caches have seen them all. */
  async function fourCandidateJob(): Promise<Job> {
    // R = 1: every fresh dispatch is a new draw over four candidates, so the report's `baseline` and
    // the bandit's choice differ most of the time.
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.', mipro: { online_rollouts_per_candidate: 1 } }) })).body as Job;
    await addCandidates(t.server.store, job.job_id, ['cand_A', 'cand_B', 'cand_C']);
    await new Promise((r) => setTimeout(r, 1100)); // the instance's candidate cache sees the new ones
    return job;
  }

  /**
   * 40 new rollout ids, each reported by `report` (naming candidate `baseline`) with a call of the id a
   * little after, so the call lands while the report is being resolved. Returns the ids whose serving,
   * stored and reported candidates differ.
   */
  async function splitRollouts(job: Job, prefix: string, report: (id: string) => Promise<Answer>): Promise<string[]> {
    const split: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `${prefix}-${i}`;
      const [reported, call] = await Promise.all([
        report(id),
        new Promise((r) => setTimeout(r, i % 4)).then(() => api(job.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'x' }] } })),
      ]);
      expect(reported.status).toBe(200);
      expect(call.status).toBe(200);
      const served = call.headers.get('x-mipro-candidate-id');
      const stored = await t.server.store.getRollout(job.job_id, id);
      if (served !== stored?.candidateId || reported.body.candidate_id !== stored?.candidateId) {
        split.push(`${id}: served ${served}, stored ${stored?.candidateId}, reported ${reported.body.candidate_id}`);
      }
    }
    return split;
  }

  it('leave the rollout with the candidate that served it', async () => {
    const job = await fourCandidateJob();
    const split = await splitRollouts(job, 'client', (id) =>
      api(t.url, 'POST', `/api/v1/online/sessions/${job.job_id}/reward`, { key: t.key, body: { rollout_id: id, candidate_id: 'baseline', reward_info: { score: 1 } } }));
    expect(split).toEqual([]);
  });

  it('the older route\'s "done" with candidate_id leaves it with the candidate that served it too', async () => {
    const job = await fourCandidateJob();
    const split = await splitRollouts(job, 'done', (id) =>
      api(t.url, 'POST', `/api/prompt-learning/online/mipro/systems/${job.system_id}/status`, { key: t.key, body: { rollout_id: id, status: 'done', candidate_id: 'baseline' } }));
    expect(split).toEqual([]);
  });
});
