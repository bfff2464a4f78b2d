import { describe, expect, it } from 'vitest';
import { type TestDb, type TestServer, addCandidates, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * baseline_score is the control's score from best_score's source (docs/API.md). While the champion's
 * best_score was already a val mean and the control had no val reward yet, the view showed the
 * control's online mean beside it: 1.000 (val, one seed) against 0.500 (online), two measurements
 * a reader compares as one.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('baseline_score comes from best_score\'s source (%s)', (db) => {
  let t: TestServer;
  useTestServer({ db }, (s) => (t = s));

  it('is null while best_score is on val and the control has no val reward, then the control\'s val mean', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody({ val_seeds: [100, 101, 102], online_rollouts_per_candidate: 5 }, 'Answer.') })).body as { job_id: string };
    const store = t.server.store;
    await addCandidates(store, job.job_id, ['cand_best']);
    const reward = async (candidateId: string, id: string, r: number, split: 'online' | 'val', seed: number) => {
      await store.insertRollout({ jobId: job.job_id, id, candidateId, seed, split, correlationId: null, inputMessages: null });
      await store.recordReward({ jobId: job.job_id, rolloutId: id, candidateId, reward: r, split, seed, metadata: null }, { eventType: 'mipro.reward.received', message: 'reward', data: {} });
    };
    for (let i = 0; i < 10; i++) await reward('cand_best', `on-${i}`, 1, 'online', i);
    for (let i = 0; i < 10; i++) await reward('baseline', `on-base-${i}`, i % 2, 'online', i);
    const view = async () => (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    const listed = async () => ((await api(t.url, 'GET', `${JOBS}?limit=1000`, { key: t.key })).body.items as Array<Record<string, unknown>>).find((j) => j.job_id === job.job_id)!;
    expect(await view()).toMatchObject({ best_candidate_id: 'cand_best', best_score_source: 'online', best_score: 1, baseline_score: 0.5 });

    await reward('cand_best', 'val-0', 1, 'val', 100);
    expect(await view()).toMatchObject({ best_score_source: 'val', best_score: 1, baseline_score: null });
    expect(await listed()).toMatchObject({ best_score_source: 'val', baseline_score: null });

    await reward('baseline', 'val-base-0', 0.3, 'val', 100);
    expect(await view()).toMatchObject({ best_score_source: 'val', best_score: 1, baseline_score: 0.3 });
    expect(await listed()).toMatchObject({ baseline_score: 0.3 });
  }, 120_000);
});
