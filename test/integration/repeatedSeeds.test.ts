import { describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const SESSIONS = '/api/v1/online/sessions';

/** A job whose seed lists repeat seeds, as an app that builds them by sampling with replacement sends them. */
describe('repeated bootstrap seeds', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('the job is past its bootstrap phase once every distinct bootstrap seed ran, not after one reward per list entry', async () => {
    const created = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({ bootstrap_train_seeds: [0, 0, 0, 0, 0, 0], online_pool: [1, 2, 3], val_seeds: [100] }, 'Classify the query.') } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const s = created.body as { session_id: string; job_id: string };
    const phase = async () => (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${s.job_id}`, { key: t.key })).body.phase;
    expect(await phase()).toBe('bootstrap');
    const first = (await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: t.key, body: {} })).body;
    expect(first).toMatchObject({ seed: 0, split: 'bootstrap' });
    expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: first.rollout_id, reward_info: { score: 1 } } })).status).toBe(200);
    // Seed 0 runs once (the scheduler issues each bootstrap seed once): the next rollout is online.
    expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: t.key, body: {} })).body).toMatchObject({ split: 'online' });
    // Before the fix the view said "bootstrap" until the baseline had six rewards (one per list entry).
    expect(await phase()).toBe('online');
  });
});
