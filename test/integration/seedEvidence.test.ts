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

  it('reports baseline_score on the same seed-level figure as best_score (a baseline champion shows one number)', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    // Seed 1 ran three times (always wrong), seeds 0 and 2 once (right): 40% per rollout, 2/3 per seed.
    const plan: [number, number][] = [[0, 1], [1, 0], [1, 0], [1, 0], [2, 1]];
    for (const [i, [seed, score]] of plan.entries()) {
      expect(await t.server.store.insertRollout({ jobId: job.job_id, id: `b${i}`, candidateId: 'baseline', seed, split: 'online', correlationId: null, inputMessages: null })).toBe(true);
      expect((await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `b${i}`, reward_info: { score } } })).status).toBe(200);
    }
    const view = (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: t.key })).body;
    expect(view.best_candidate_id).toBe('baseline');
    expect(view.best_score).toBeCloseTo(2 / 3, 12);
    // The same candidate, the same source: the same number (it read 0.4, the per-rollout mean).
    expect(view.baseline_score).toBe(view.best_score);
    expect(view.candidates.find((c: { candidate_id: string }) => c.candidate_id === 'baseline').avg_reward).toBeCloseTo(0.4, 12);
  });

  it('chooses the champion on seed means: rollouts piled onto one easy seed do not win it', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const added = await api(t.url, 'POST', `/api/systems/${job.system_id}/candidates`, { key: t.key, body: { instruction: 'Answer briefly.' } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const piled: string = added.body.candidate_id;
    // The added prompt: 30 rollouts of easy seed 0 (always right), 5 each of seeds 1-4 (always wrong):
    // 60% per rollout, 20% per seed. The baseline: right on seeds 0 and 1 only, 10 rollouts each: 40% either way.
    // Baseline first, then the added prompt's hard seeds, then its easy one: per rollout it takes the
    // lead only at the end (per seed it never does).
    const plan: [string, number, number][] = [
      ...[0, 1, 2, 3, 4].flatMap((seed) => Array.from({ length: 10 }, (): [string, number, number] => ['baseline', seed, seed < 2 ? 1 : 0])),
      ...[1, 2, 3, 4].flatMap((seed) => Array.from({ length: 5 }, (): [string, number, number] => [piled, seed, 0])),
      ...Array.from({ length: 30 }, (): [string, number, number] => [piled, 0, 1]),
    ];
    for (const [i, [candidateId, seed, score]] of plan.entries()) {
      expect(await t.server.store.insertRollout({ jobId: job.job_id, id: `p${i}`, candidateId, seed, split: 'online', correlationId: null, inputMessages: null })).toBe(true);
      const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `p${i}`, reward_info: { score } } });
      expect(res.status).toBe(200);
    }
    const view = (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: t.key })).body;
    const cand = view.candidates.find((c: { candidate_id: string }) => c.candidate_id === piled);
    expect(cand.avg_reward).toBeCloseTo(0.6, 12); // per rollout it leads...
    expect(cand.n_seeds).toBe(5);
    expect(view.best_candidate_id).toBe('baseline'); // ...per seed it does not
    // The engine agrees: it never crowned the piled candidate.
    const events = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=200`, { key: t.key });
    const crowned = events.body.events.filter((e: { event_type: string; data: { candidate_id?: string } }) => e.event_type === 'mipro.best.changed' && e.data.candidate_id === piled);
    expect(crowned).toHaveLength(0);
  });
});
