import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, addCandidates, api, seedJobBody, startTestServer } from '../helpers/server.js';
import { MIN_RANGE_BOUND } from '../../src/schemas/jobConfig.js';
import { MIN_ABS_REWARD } from '../../src/services/rewardService.js';

const JOBS = '/api/policy-optimization/online/jobs';

/** mipro.reward_range (SPEC.md, "Rewards: declared range"), through real HTTP, on both databases. */
describe.each(['sqlite', 'postgres'] as const)('declared reward range (%s)', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db, env: { OPENAI_API_KEY: 'sk-test' } });
  });
  afterAll(async () => {
    await t.close();
  });
  const reward = (systemId: string, body: Record<string, unknown>) => api(t.url, 'POST', `/api/v1/online/sessions/${systemId}/reward`, { key: t.key, body });

  it('refuses a reward outside the default [0, 1] with a 422 naming the range, and records nothing', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const refused = await reward(job.system_id, { candidate_id: 'baseline', reward_info: { score: 2 } });
    expect(job.reward_range).toEqual([0, 1]); // the default, stated in the view
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toMatch(/reward_range \[0, 1\]/);
    expect(JSON.stringify(refused.body)).toMatch(/reward_info\.score/);
    expect((await t.server.store.getJob(job.job_id))?.rewardCount).toBe(0);
    expect((await reward(job.system_id, { candidate_id: 'baseline', reward_info: { score: 0.5 } })).status).toBe(200);
  });

  it('lists every problem of a reward body in one 422 (range, feedback modules, candidate, schema), and records nothing', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const paths = (res: { body: { error: { details: { path: string }[] } } }) => res.body.error.details.map((d) => d.path);
    // Checks that only the job can make: all of them at once, not one per resend.
    const several = await reward(job.system_id, { candidate_id: 'cand_nope', reward_info: { score: 2, feedback_by_module: { mian: 'x', other: 'y' } } });
    expect(several.status).toBe(422);
    expect(several.body.error.message).toBe('invalid request');
    expect(paths(several)).toEqual(['reward_info.score', 'reward_info.feedback_by_module.mian', 'reward_info.feedback_by_module.other', 'candidate_id']);
    // A schema problem does not hide the job's checks either.
    const mixed = await reward(job.system_id, { candidate_id: 'baseline', stop: 'yes', reward_info: { score: 2 } });
    expect([mixed.status, paths(mixed)]).toEqual([422, ['stop', 'reward_info.score']]);
    // The range problem names the field the reward was sent in.
    const outcome = await reward(job.system_id, { candidate_id: 'baseline', reward_info: { outcome_reward: 3 } });
    expect([outcome.status, paths(outcome)]).toEqual([422, ['reward_info.outcome_reward']]);
    // One problem keeps its own message.
    const one = await reward(job.system_id, { candidate_id: 'baseline', reward_info: { score: 2 } });
    expect(one.body.error.message).toMatch(/reward_range \[0, 1\]/);
    expect((await t.server.store.getJob(job.job_id))?.rewardCount).toBe(0);
    const fixed = await reward(job.system_id, { rollout_id: 'r-fixed', candidate_id: 'baseline', reward_info: { score: 1 } });
    expect([fixed.status, fixed.body.duplicate]).toEqual([200, false]);
  });

  it('takes rewards inside a declared range and reports intervals in its units', async () => {
    const body = seedJobBody({ initialPrompt: 'Answer.', mipro: { reward_range: [1, 5] } });
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body })).body;
    expect((await reward(job.system_id, { candidate_id: 'baseline', reward_info: { score: 0.5 } })).status).toBe(422);
    const over = await reward(job.system_id, { candidate_id: 'baseline', reward_info: { score: 5.5 } });
    expect(over.status).toBe(422);
    expect(JSON.stringify(over.body)).toMatch(/must be between 1 and 5 \(mipro\.reward_range\), got 5\.5/);
    await addCandidates(t.server.store, job.job_id, ['cand_a']);
    for (let i = 0; i < 12; i++) {
      expect((await reward(job.system_id, { candidate_id: 'baseline', reward_info: { score: 3 } })).status).toBe(200);
      expect((await reward(job.system_id, { candidate_id: 'cand_a', reward_info: { score: 4 } })).status).toBe(200);
    }
    const view = (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    // The view says which scale its numbers are in (the dashboard clips its chart intervals to it).
    expect(view.reward_range).toEqual([1, 5]);
    const [lo, hi] = view.best_score_ci as [number, number];
    // A bounded-range interval on 12 identical rewards: wide, never zero width, within [1, 5].
    expect(lo).toBeGreaterThanOrEqual(1);
    expect(hi).toBeLessThanOrEqual(5);
    expect(hi - lo).toBeGreaterThan(1);
    expect(lo).toBeLessThanOrEqual(view.best_score);
    expect(hi).toBeGreaterThanOrEqual(view.best_score);
  });

  it('refuses a range bound nearer 0 than 1e-100 (rewards there are recorded as 0), so every range can take its rewards', async () => {
    // [1e-200, 2e-200] was accepted, then every reward in it was read as 0 and refused as outside it.
    for (const range of [[1e-200, 2e-200], [0, 1e-200], [0, 5e-324], [-1e-101, 1]]) {
      const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ mipro: { reward_range: range } }) });
      expect(res.status, JSON.stringify(range)).toBe(422);
      expect(res.body.error.details).toEqual([{ path: 'policy_optimization.mipro.reward_range', message: expect.stringMatching(/each 0 or at least 1e-100 from 0/) }]);
    }
    expect(MIN_RANGE_BOUND).toBe(MIN_ABS_REWARD);
    // The smallest bounds allowed take their rewards, the lower bound itself included.
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.', mipro: { reward_range: [1e-100, 2e-100] } }) })).body;
    for (const score of [1e-100, 1.5e-100, 2e-100]) {
      const res = await reward(job.system_id, { candidate_id: 'baseline', reward_info: { score } });
      expect([score, res.status, res.body.reward]).toEqual([score, 200, score]);
    }
  });

  it('refuses a malformed range when the job is created', async () => {
    for (const range of [[1, 1], [2, 1], [0], [0, 'x'], [0, 1e7]]) {
      const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ mipro: { reward_range: range } }) });
      expect(res.status, JSON.stringify(range)).toBe(422);
      expect(JSON.stringify(res.body)).toMatch(/reward_range/);
    }
  });
});
