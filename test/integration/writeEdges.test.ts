import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/** Edge cases of the write routes found by probing them over real HTTP, on both databases. */
describe.each(['sqlite', 'postgres'] as const)('write routes at their edges (%s)', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db });
  });
  afterAll(async () => {
    await t.close();
  });
  const createJob = async (body: unknown = simJobBody()) => (await api(t.url, 'POST', JOBS, { key: t.key, body })).body;

  it('names the value a reward of 1e400 was read as (Infinity), not null, and records nothing', async () => {
    const job = await createJob();
    for (const [path, raw] of [['reward_info.score', '{"reward_info":{"score":1e400}}'], ['reward_info.reward', '{"reward_info":{"reward":-1e400}}']] as const) {
      const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, rawBody: raw.replace('{', '{"candidate_id":"baseline",') });
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([{ path, message: `must be a finite number, got ${raw.includes('-') ? '-Infinity' : 'Infinity'}` }]);
    }
    const legacy = await api(t.url, 'POST', `/api/prompt-learning/online/mipro/systems/${job.system_id}/status`, { key: t.key, rawBody: '{"rollout_id":"r1","status":"reward","candidate_id":"baseline","reward":1e400}' });
    expect([legacy.status, legacy.body.error.details]).toEqual([422, [{ path: 'reward', message: 'must be a finite number, got Infinity' }]]);
    expect((await t.server.store.getJob(job.job_id))?.rewardCount).toBe(0);
  });
});
