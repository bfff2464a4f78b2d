import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, addCandidates, api, simJobBody, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';
const VAL = Array.from({ length: 3000 }, (_, i) => 10_000 + i);

/**
 * The job's lift over the control is paired on the val seeds both ran, however many val rewards
 * other candidates (earlier champions, runners-up) have collected before them.
 */
describe('lift over the baseline', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.close());

  it('pairs champion and control on shared val seeds behind thousands of other val rewards', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody({ val_seeds: VAL, online_rollouts_per_candidate: 5 }, 'Answer.') })).body as { job_id: string };
    const store = t.server.store;
    await addCandidates(store, job.job_id, ['cand_old', 'cand_best']);
    const reward = async (candidateId: string, id: string, r: number, split: 'online' | 'val', seed: number) => {
      await store.insertRollout({ jobId: job.job_id, id, candidateId, seed, split, correlationId: null, inputMessages: null });
      await store.recordReward({ jobId: job.job_id, rolloutId: id, candidateId, reward: r, split, seed, metadata: null }, { eventType: 'mipro.reward.received', message: 'reward', data: {} });
    };
    // An earlier candidate collected 2,600 val rewards first (each val seed once per candidate: the
    // database refuses a repeat since migration 0011).
    for (let i = 0; i < 2600; i++) await reward('cand_old', `old-${i}`, i % 2, 'val', VAL[i]!);
    // Then the champion is clearly best online, and it and the control run the same 200 val seeds.
    for (let i = 0; i < 40; i++) await reward('cand_best', `on-${i}`, 1, 'online', i);
    for (let i = 0; i < 40; i++) await reward('cand_old', `on-old-${i}`, 0, 'online', i);
    for (let i = 0; i < 200; i++) {
      await reward('cand_best', `vb-${i}`, i % 10 < 8 ? 1 : 0, 'val', VAL[2700 + i]!);
      await reward('baseline', `vc-${i}`, i % 10 < 5 ? 1 : 0, 'val', VAL[2700 + i]!);
    }
    const view = (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    expect(view.best_candidate_id).toBe('cand_best');
    expect(view.lift_over_baseline).toMatchObject({ paired: true, source: 'val', significant: true });
    expect(view.lift_over_baseline.estimate).toBeCloseTo(0.3, 10);
  }, 60_000);
});
