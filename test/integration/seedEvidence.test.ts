import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * Seed-level inference through real HTTP: 30 rollouts of 3 seeds are 3 observations, so best_score's
 * interval is as wide as 3 observations make it, and the views say how many seeds back each figure.
 */
describe.each(['sqlite', 'postgres'] as const)('seed-level evidence (%s)', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db, env: { OPENAI_API_KEY: 'sk-test' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('counts seeds, not rollouts, in best_score and candidate intervals', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const bySeed: Record<number, number> = { 0: 1, 1: 1, 2: 0 }; // temperature 0: each seed always scores the same
    for (let i = 0; i < 30; i++) {
      const seed = i % 3;
      expect(await t.server.store.insertRollout({ jobId: job.job_id, id: `r${i}`, candidateId: 'baseline', seed, split: 'online', correlationId: null, inputMessages: null })).toBe(true);
      const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `r${i}`, reward_info: { score: bySeed[seed] } } });
      expect(res.status).toBe(200);
    }
    const view = (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: t.key })).body;
    expect(view.best_score_source).toBe('online');
    expect(view.best_score_n).toBe(30);
    expect(view.best_score_n_seeds).toBe(3);
    expect(view.best_score).toBeCloseTo(2 / 3, 12);
    const [lo, hi] = view.best_score_ci as [number, number];
    // Per rollout (n = 30) the radius would be 0.31; with 3 seeds (radius 1.69) it is all of [0, 1].
    expect(hi - lo).toBeGreaterThan(0.9);
    const baseline = view.candidates.find((c: { candidate_id: string }) => c.candidate_id === 'baseline');
    expect(baseline.n_seeds).toBe(3);
    expect(baseline.reward_count).toBe(30);
  });
});
