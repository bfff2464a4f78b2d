import { describe, expect, it } from 'vitest';
import { type TestDb, type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';

/**
 * Rewards so close to 0 that squaring them underflows a double (the fuzz's flaky 500: PostgreSQL
 * raises "value out of range: underflow" where SQLite and JavaScript round to 0). They count as 0
 * on both databases, and every view of the job keeps answering.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('rewards closer to 0 than 1e-100 (%s)', (db) => {
  let t: TestServer;
  useTestServer({ db }, (s) => (t = s));

  it('count as 0, and the job list, the job and its candidates still answer', async () => {
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify the query.') } })).body;
    const scores = [0, 0, 5e-324, 1e-200, -1e-170, 3e-200, 0.5];
    for (const [i, score] of scores.entries()) {
      await api(s.proxy_url, 'POST', `/t${i}/chat/completions`, { body: { messages: [{ role: 'user', content: 'I lost my card' }] } });
      const r = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: `t${i}`, reward_info: { score } } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.reward).toBe(Math.abs(score) < 1e-100 ? 0 : score);
    }
    const list = await api(t.url, 'GET', JOBS, { key: t.key });
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([s.job_id]);
    const job = await api(t.url, 'GET', `${JOBS}/${s.job_id}`, { key: t.key });
    expect(job.status, JSON.stringify(job.body)).toBe(200);
    expect(job.body.candidates[0]).toMatchObject({ candidate_id: 'baseline', reward_count: 7 });
    expect(job.body.candidates[0].avg_reward).toBeCloseTo(0.5 / 7, 12);
    const candidates = await api(t.url, 'GET', `/api/systems/${s.session_id}/candidates`, { key: t.key });
    expect(candidates.status, JSON.stringify(candidates.body)).toBe(200);
    const rewards = await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/rewards`, { key: t.key });
    expect(rewards.body.items.map((r: { reward: number }) => r.reward)).toEqual([0, 0, 0, 0, 0, 0, 0.5]);
  });
});
