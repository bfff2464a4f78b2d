import { describe, expect, it } from 'vitest';
import { type TestDb, type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * A correlation id for a rollout the seed scheduler issues (`POST .../rollouts {"correlation_id"}`).
 * A proxied call's correlation id tags only a rollout that call makes; a scheduled rollout's record
 * exists before its first call, so its calls' ids were dropped, and a reward naming that id was a 404
 * (seen from examples/python, tagging each rollout's calls with x-mipro-correlation-id). The scheduler
 * body refused the field (unknown field) in earlier releases.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('the seed scheduler takes a correlation id (%s)', (db) => {
  let t: TestServer;
  useTestServer({ db }, (s) => (t = s));

  it('stores it on the rollout, so a reward naming it finds the rollout', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody({}, 'Classify the query.') })).body;
    const sessions = `/api/v1/online/sessions/${job.system_id}`;
    const issued = await api(t.url, 'POST', `${sessions}/rollouts`, { key: t.key, body: { correlation_id: 'ticket-7' } });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.body).toMatchObject({ correlation_id: 'ticket-7', split: 'bootstrap' });
    const call = await api(issued.body.inference_url, 'POST', '/chat/completions', {
      body: { model: 'm', messages: [{ role: 'system', content: 'Classify the query.' }, { role: 'user', content: 'hi' }] },
    });
    expect(call.status).toBe(200);
    const reward = await api(t.url, 'POST', `${sessions}/reward`, { key: t.key, body: { correlation_id: 'ticket-7', reward_info: { score: 1 } } });
    expect(reward.status, JSON.stringify(reward.body)).toBe(200);
    expect(reward.body).toMatchObject({ rollout_id: issued.body.rollout_id, split: 'bootstrap', duplicate: false });
    const view = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/${issued.body.rollout_id}`, { key: t.key });
    expect(view.body).toMatchObject({ correlation_id: 'ticket-7', seed: issued.body.seed, call_count: 1 });
    // Without one, the answer says null, as before.
    expect((await api(t.url, 'POST', `${sessions}/rollouts`, { key: t.key, body: {} })).body.correlation_id).toBeNull();
  });

  it('refuses one a reward could not name, before anything is scheduled', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody() })).body;
    const sessions = `/api/v1/online/sessions/${job.system_id}`;
    for (const bad of ['', 'x'.repeat(257), 7]) {
      const res = await api(t.url, 'POST', `${sessions}/rollouts`, { key: t.key, body: { correlation_id: bad } });
      expect(res.status).toBe(422);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(['correlation_id']);
    }
    expect((await api(t.url, 'GET', sessions, { key: t.key })).body.rollout_count).toBe(0);
    // null is how the answer shows an untagged rollout: sent back, it means the same.
    const untagged = await api(t.url, 'POST', `${sessions}/rollouts`, { key: t.key, body: { correlation_id: null } });
    expect(untagged.status).toBe(200);
    expect(untagged.body.correlation_id).toBeNull();
  });
});
