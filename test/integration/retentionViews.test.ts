import { describe, expect, it } from 'vitest';
import { addModuleCandidates, api, simJobBody } from '../helpers/server.js';
import { DAY_MS, useRetentionServer } from '../helpers/retentionServer.js';
import { waitFor } from '../helpers/waitFor.js';

/** After RETENTION_DAYS cleared an ended job's texts, every view still answers with its shape. */
const SESSIONS = '/api/v1/online/sessions';
const JOBS = '/api/policy-optimization/online/jobs';

describe.each(['sqlite', 'postgres'] as const)('views after RETENTION_DAYS on %s', (db) => {
  const srv = useRetentionServer(db);

  it('answers every view, exports, and imports the export into a new job', async () => {
    const s = (await api(srv.t.url, 'POST', SESSIONS, { key: srv.t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify the query.') } })).body;
    for (const id of ['r-1', 'r-2']) {
      expect((await api(s.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: `lost card ${id}` }] } })).status).toBe(200);
      expect((await api(srv.t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: srv.t.key, body: { rollout_id: id, reward_info: { score: 1, feedback: 'ok' } } })).status).toBe(200);
    }
    const seeded = (await api(srv.t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: srv.t.key })).body;
    expect((await api(s.proxy_url, 'POST', `/${seeded.rollout_id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'seeded call' }] } })).status).toBe(200);
    await addModuleCandidates(srv.t.server.store, s.job_id, 'main', { cand_demo: 'Classify the query carefully.' }, {
      cand_demo: [{ input: [{ role: 'user', content: 'lost card r-1' }], output: 'card_lost', rolloutId: 'r-1' }],
    });
    expect((await api(srv.t.url, 'POST', `${SESSIONS}/${s.session_id}/promote`, { key: srv.t.key, body: { candidate_id: 'cand_demo' } })).status).toBe(200);
    // Traffic after the end: a monitor rollout and its reward.
    expect((await api(s.proxy_url, 'POST', '/m-1/chat/completions', { body: { messages: [{ role: 'user', content: 'after the end' }] } })).status).toBe(200);
    expect((await api(srv.t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: srv.t.key, body: { rollout_id: 'm-1', reward_info: { score: 1 } } })).status).toBe(200);

    srv.setClockOffset(2 * DAY_MS);
    await waitFor(async () => (await srv.t.server.store.rolloutCalls(s.job_id, ['m-1']))[0]?.outputText === null);
    // New monitor traffic after retention.
    expect((await api(s.proxy_url, 'POST', '/m-2/chat/completions', { body: { messages: [{ role: 'user', content: 'after retention' }] } })).status).toBe(200);
    expect((await api(srv.t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: srv.t.key, body: { rollout_id: 'm-2', reward_info: { score: 0 } } })).status).toBe(200);

    const get = async (path: string) => {
      const r = await api(srv.t.url, 'GET', path, { key: srv.t.key });
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
      return r.body;
    };
    expect(await get(`${SESSIONS}/${s.session_id}`)).toMatchObject({ status: 'succeeded', served_candidate_id: 'cand_demo' });
    expect(await get(`${JOBS}/${s.job_id}`)).toMatchObject({ status: 'succeeded' });
    await get(JOBS);
    const cands = await get(`/api/v1/systems/${s.job_id}/candidates`);
    expect(JSON.stringify(cands)).toContain('card_lost');
    await get(`/api/v1/systems/${s.job_id}/seed-evals`);
    await get(`/api/v1/systems/${s.job_id}/seed-evals?split=monitor`);
    const rollout = await get(`/api/v1/systems/${s.job_id}/rollouts/r-1`);
    expect(rollout.calls).toMatchObject([{ seq: 1, input_messages: null, output_text: null }]);
    await get(`${SESSIONS}/${s.session_id}/events`);
    await get(`${SESSIONS}/${s.session_id}/proposals`);
    await get(`${SESSIONS}/${s.session_id}/rewards`);
    await get(`/api/prompt-learning/online/mipro/systems/${s.job_id}/state`);
    const json = await get(`${JOBS}/${s.job_id}/export?format=json`);
    expect(json.modules[0].demos).toMatchObject([{ output: 'card_lost' }]);
    await get(`${JOBS}/${s.job_id}/export?format=messages`);
    await get(`${JOBS}/${s.job_id}/export?format=dspy`);

    // Warm start from the export taken after retention.
    const s2 = (await api(srv.t.url, 'POST', SESSIONS, { key: srv.t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify the query.') } })).body;
    const instructions = Object.fromEntries((json.modules as { name: string; template: string }[]).map((m) => [m.name, m.template]));
    const demos = Object.fromEntries((json.modules as { name: string; demos: unknown[] }[]).map((m) => [m.name, m.demos]));
    const added = await api(srv.t.url, 'POST', `/api/v1/systems/${s2.job_id}/candidates`, { key: srv.t.key, body: { instructions, demos } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
  });
});
