import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { api, simJobBody } from '../helpers/server.js';
import { dbOf, jobRowCounts } from '../helpers/jobRows.js';
import { alarmLogger, testDatabase } from '../helpers/testDatabase.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const KEY = 'mpx_job_deletion_mid_purge_key_01';

/**
 * Two instances on one PostgreSQL database; the job is deleted through A while B still holds it in
 * its cache, and B's calls of the job reach the database while A's purge is half done (its rows
 * are removed a table at a time, rollout_calls before rollouts: store/jobPurge.ts). Found by a
 * randomized multi-instance run: such a call re-created a removed rollout as a placeholder (call
 * count 1), so its call record collided with one written between the two tables' purges (an
 * error-level "background task failed: duplicate key rollout_calls_pk"), and a call on a rollout id
 * whose row the purge had removed was claimed afresh and served another candidate than the id's
 * earlier calls. A job marked deleted takes no more rollouts or calls: the write answers as for a
 * job whose row is gone (a new rollout id: 404), whichever instance makes it. The purge is held still here by doing
 * its steps by hand: the delete's mark, then the removal of the rollouts.
 */
describe('calls of a deleted job whose rows are being removed, on another instance', () => {
  const database = testDatabase('postgres', 'delmid');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MIPROX_API_KEY: KEY, LOG_LEVEL: 'info', ...database.env });
  const alarms: string[] = [];
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    a = await startServer(config, { logger: alarmLogger(alarms) });
    b = await startServer(config, { logger: alarmLogger(alarms), cacheTtlMs: 120_000 });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await database.drop();
  });
  const on = (server: RunningServer, url: string) => url.replace(/^http:\/\/[^/]+/, server.url);
  const chat = (url: string) => api(url, 'POST', '/chat/completions', { body: { messages: [{ role: 'user', content: 'hello' }] } });

  it('writes nothing and logs no error once the job is marked deleted, though the instance still holds it', async () => {
    alarms.length = 0;
    const res = await api(a.url, 'POST', SESSIONS, { key: KEY, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify the query.') } });
    expect(res.status).toBe(200);
    const s = res.body;
    const proxy = on(b, s.proxy_url);
    expect((await chat(`${proxy}/w1`)).status).toBe(200);
    // A rollout with no call yet (a reward naming its candidate made it): its first call comes mid-purge.
    expect((await api(b.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: 'w2', candidate_id: 'baseline', reward_info: { score: 1 } } })).status).toBe(200);
    expect((await api(a.url, 'POST', `${JOBS}/${s.job_id}/cancel`, { key: KEY })).status).toBe(200);
    const db = dbOf(a.store);
    // The delete's mark, as DELETE writes it, without the purge that follows it.
    await sql`update jobs set deleted_at = updated_at where id = ${s.job_id}`.execute(db);
    await sql`delete from rollout_calls where job_id = ${s.job_id}`.execute(db);
    const w2 = await chat(`${proxy}/w2`);
    await b.settled();
    await sql`delete from rollouts where job_id = ${s.job_id}`.execute(db);
    const again = await chat(`${proxy}/w2`);
    const fresh = await chat(`${proxy}/late`);
    await b.settled();
    // A rollout id B remembers is still served from its cache (for up to the cache's 1 s: docs/deploy.md),
    // and with its own candidate; only its call record is left out. A new id reaches the database: 404.
    for (const r of [w2, again]) if (r.status === 200) expect(r.headers.get('x-mipro-candidate-id')).toBe('baseline');
    expect(fresh.status).toBe(404);
    const counts = await jobRowCounts(a.store, s.job_id);
    expect(counts.rollouts ?? 0).toBe(0);
    expect(counts.rollout_calls ?? 0).toBe(0);
    expect(alarms).toEqual([]);
  });
});
