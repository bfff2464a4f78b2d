import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { api, simJobBody } from '../helpers/server.js';
import { jobRowCounts, totalRows } from '../helpers/jobRows.js';
import { waitFor } from '../helpers/waitFor.js';
import { alarmLogger, testDatabase } from '../helpers/testDatabase.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const KEY = 'mpx_job_deletion_stale_key_0001';

/**
 * An instance that still holds a job another instance deleted (its cache not yet expired: the 1 s
 * of docs/API.md, "Deleting a job", stretched here so the window is certain). Its writes of the job
 * are refused (404), and once it has met that refusal it answers every request of the job as for
 * an unknown one, instead of from its cache until the cache expires; a reward naming a candidate of
 * the job is a 404 too, not a 422 saying the candidate does not exist.
 */
describe.each(['sqlite', 'postgres'] as const)('an instance whose cache still holds a deleted job, on %s', (db) => {
  const database = testDatabase(db, 'dels');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MIPROX_API_KEY: KEY, LOG_LEVEL: 'info', ...database.env });
  const alarms: string[] = [];
  const logger = () => alarmLogger(alarms);
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    a = await startServer(config, { logger: logger() });
    b = await startServer(config, { logger: logger(), cacheTtlMs: 120_000 });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await database.drop();
  });
  const on = (server: RunningServer, url: string) => url.replace(/^http:\/\/[^/]+/, server.url);

  async function deletedWhileCachedOnB(): Promise<{ session_id: string; job_id: string; proxy_url: string }> {
    const res = await api(a.url, 'POST', SESSIONS, { key: KEY, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify the query.') } });
    expect(res.status).toBe(200);
    const s = res.body;
    expect((await api(on(b, s.proxy_url), 'POST', '/w1/chat/completions', { body: { messages: [{ role: 'user', content: 'hello' }] } })).status).toBe(200);
    expect((await api(b.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: 'w1', reward_info: { score: 1 } } })).status).toBe(200);
    expect((await api(a.url, 'POST', `${JOBS}/${s.job_id}/cancel`, { key: KEY })).status).toBe(200);
    expect((await api(a.url, 'DELETE', `${JOBS}/${s.job_id}`, { key: KEY })).status).toBe(200);
    await waitFor(async () => totalRows(await jobRowCounts(a.store, s.job_id)) === 0);
    return s;
  }

  it('answers 404 for every request of the job once a write of it was refused', async () => {
    alarms.length = 0;
    const s = await deletedWhileCachedOnB();
    const models = () => api(on(b, s.proxy_url), 'GET', '/models');
    // Answered from the cache: nothing told this instance yet.
    expect((await models()).status).toBe(200);
    const call = await api(on(b, s.proxy_url), 'POST', '/late/chat/completions', { body: { messages: [{ role: 'user', content: 'hello' }] } });
    expect(call.status).toBe(404);
    // From then on, unknown on this instance too.
    expect((await models()).status).toBe(404);
    const badScore = await api(b.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: 'w1', reward_info: { score: 7 } } });
    expect(badScore.status).toBe(404);
    await Promise.all([a.settled(), b.settled()]);
    expect(totalRows(await jobRowCounts(a.store, s.job_id))).toBe(0);
    expect(alarms).toEqual([]);
  });

  it('answers a reward naming a candidate of the deleted job with 404, and forgets the job', async () => {
    alarms.length = 0;
    const s = await deletedWhileCachedOnB();
    const named = await api(b.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: 'new', candidate_id: 'baseline', reward_info: { score: 1 } } });
    expect(named.status).toBe(404);
    expect(named.body.error.code).toBe('not_found');
    expect((await api(on(b, s.proxy_url), 'GET', '/models')).status).toBe(404);
    await Promise.all([a.settled(), b.settled()]);
    expect(totalRows(await jobRowCounts(a.store, s.job_id))).toBe(0);
    expect(alarms).toEqual([]);
  });
});
