import { describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';

/**
 * Issue 16 item 11: requests of the public SDK replayed with curl. Each spelling is either accepted
 * or refused with a message that says what to send (docs/API.md records which).
 */
describe('public API details', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('refuses a client-chosen session_id, saying to read it from the response', async () => {
    const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody(), session_id: 'my-session' } });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'session_id', message: expect.stringMatching(/miprox makes session ids.*omit it and read session_id from the response/) }]);
  });

  it('accepts status=completed and status=canceled as the public spellings of succeeded and cancelled', async () => {
    const { key } = await t.newTenantKey();
    const done = (await api(t.url, 'POST', JOBS, { key, body: simJobBody() })).body as { job_id: string };
    const gone = (await api(t.url, 'POST', JOBS, { key, body: simJobBody() })).body as { job_id: string };
    await api(t.url, 'POST', `${JOBS}/${gone.job_id}/cancel`, { key, body: {} });
    const rollout = (await api(t.url, 'POST', `${SESSIONS}/${done.job_id}/rollouts`, { key, body: {} })).body as { rollout_id: string };
    await api(t.url, 'POST', `${SESSIONS}/${done.job_id}/reward`, { key, body: { rollout_id: rollout.rollout_id, reward_info: { score: 1 }, stop: true } });
    const completed = await api(t.url, 'GET', `${JOBS}?status=completed`, { key });
    expect(completed.status).toBe(200);
    expect(completed.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([done.job_id]);
    const canceled = await api(t.url, 'GET', `${JOBS}?status=canceled`, { key });
    expect(canceled.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([gone.job_id]);
    const wrong = await api(t.url, 'GET', `${JOBS}?status=done`, { key });
    expect(wrong.status).toBe(422);
  });

  it('answers seed-evals?split=train with what to send instead', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).body as { system_id: string };
    const res = await api(t.url, 'GET', `/api/systems/${job.system_id}/seed-evals?split=train`, { key: t.key });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'split', message: expect.stringMatching(/"train" is two splits here, bootstrap .* and online/) }]);
  });

  it('emits mipro.rollout.started for each rollout the seed scheduler hands out', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).body as { system_id: string };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await api(t.url, 'POST', `${SESSIONS}/${job.system_id}/rollouts`, { key: t.key, body: {} })).body.rollout_id);
    const events = (await api(t.url, 'GET', `${SESSIONS}/${job.system_id}/events`, { key: t.key })).body.events as Array<{ event_type: string; data: { rollout_id: string; split: string; seed: number } }>;
    const started = events.filter((e) => e.event_type === 'mipro.rollout.started');
    expect(started.map((e) => e.data.rollout_id)).toEqual(ids);
    expect(started[0]!.data).toMatchObject({ split: 'bootstrap', seed: 0, candidate_id: 'baseline' });
  });
});
