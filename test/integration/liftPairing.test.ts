import { describe, expect, it } from 'vitest';
import { type TestDb, type TestServer, addCandidates, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const JOBS = '/api/policy-optimization/online/jobs';
const VAL = Array.from({ length: 3000 }, (_, i) => 10_000 + i);

/**
 * The job's lift over the control is paired on the val seeds both ran at the same time, however many
 * val rewards other candidates (earlier champions, runners-up) have collected before them; a seed the
 * control ran long before the champion does not pair (traffic may have drifted in between).
 */
describe.each<TestDb>(['sqlite', 'postgres'])('lift over the baseline (%s)', (db) => {
  let t: TestServer;
  useTestServer({ db }, (s) => (t = s));

  async function jobWith(valSeeds: number[]) {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody({ val_seeds: valSeeds, online_rollouts_per_candidate: 5 }, 'Answer.') })).body as { job_id: string };
    const store = t.server.store;
    await addCandidates(store, job.job_id, ['cand_old', 'cand_best']);
    const reward = async (candidateId: string, id: string, r: number, split: 'online' | 'val', seed: number) => {
      await store.insertRollout({ jobId: job.job_id, id, candidateId, seed, split, correlationId: null, inputMessages: null });
      await store.recordReward({ jobId: job.job_id, rolloutId: id, candidateId, reward: r, split, seed, metadata: null }, { eventType: 'mipro.reward.received', message: 'reward', data: {} });
    };
    // The champion is clearly best online.
    for (let i = 0; i < 40; i++) await reward('cand_best', `on-${i}`, 1, 'online', i);
    for (let i = 0; i < 40; i++) await reward('cand_old', `on-old-${i}`, 0, 'online', i);
    for (let i = 0; i < 40; i++) await reward('baseline', `on-base-${i}`, i % 2, 'online', i);
    const view = async () => (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    return { reward, view };
  }

  it('pairs champion and control on shared val seeds behind thousands of other val rewards', async () => {
    const { reward, view } = await jobWith(VAL);
    // An earlier candidate collected 2,600 val rewards first (each val seed once per candidate: the
    // database refuses a repeat since migration 0011).
    for (let i = 0; i < 2600; i++) await reward('cand_old', `old-${i}`, i % 2, 'val', VAL[i]!);
    // The champion and the control run the same 200 val seeds side by side.
    for (let i = 0; i < 200; i++) {
      await reward('cand_best', `vb-${i}`, i % 10 < 8 ? 1 : 0, 'val', VAL[2700 + i]!);
      await reward('baseline', `vc-${i}`, i % 10 < 5 ? 1 : 0, 'val', VAL[2700 + i]!);
    }
    const v = await view();
    expect(v.best_candidate_id).toBe('cand_best');
    // On the 200 seeds the two ran side by side, not on the champion's 200 val rewards beside the 2,600 others.
    expect(v.lift_over_baseline).toMatchObject({ paired: true, source: 'val', n: 200, significant: true });
    expect(v.lift_over_baseline.estimate).toBeCloseTo(0.3, 10);
  }, 600_000);

  it('does not pair the champion with val seeds the control ran long before it', async () => {
    const seeds = VAL.slice(0, 100);
    const { reward, view } = await jobWith(seeds);
    // The control ran every val seed first (for an earlier champion); the champion runs them all
    // afterwards and scores higher on them: as if traffic had got easier in between.
    for (let i = 0; i < 100; i++) await reward('baseline', `vc-${i}`, i % 10 < 5 ? 1 : 0, 'val', seeds[i]!);
    for (let i = 0; i < 100; i++) await reward('cand_best', `vb-${i}`, i % 10 < 8 ? 1 : 0, 'val', seeds[i]!);
    const v = await view();
    expect(v.best_candidate_id).toBe('cand_best');
    // Paired on these seeds it would be significant (0.3 on 100 pairs); the champion's best_score is
    // still its val mean, but the lift falls back to the online comparison.
    expect(v.best_score_source).toBe('val');
    expect(v.lift_over_baseline.source).toBe('online');
  }, 600_000);
});
