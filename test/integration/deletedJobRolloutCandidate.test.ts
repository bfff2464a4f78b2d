import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import type { Store } from '../../src/store/types.js';
import { api, simJobBody } from '../helpers/server.js';
import { dbOf } from '../helpers/jobRows.js';
import { testDatabase } from '../helpers/testDatabase.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const KEY = 'mpx_deleted_job_rollout_cand_key_1';

/**
 * Two instances on one PostgreSQL database. B claims a client's rollout id that A stored with a
 * candidate B has not read yet (hand-added on A), and the job is deleted between B's claim and B's
 * re-read of the job for that candidate. Found by a randomized multi-instance run: B served the
 * call with the baseline (what its stale cache held) while the id's other calls had been served
 * the stored candidate; the re-read had found the job deleted and left the candidate list as it
 * was. A rollout's candidate that its job no longer has means the job is gone: 404, as for any
 * call of a deleted job, never another candidate.
 */
describe('a rollout whose job is deleted while another instance looks up its candidate', () => {
  const database = testDatabase('postgres', 'delcand');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MIPROX_API_KEY: KEY, LOG_LEVEL: 'warn', ...database.env });
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    a = await startServer(config);
    b = await startServer(config, { cacheTtlMs: 120_000 });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await database.drop();
  });
  const on = (server: RunningServer, url: string) => url.replace(/^http:\/\/[^/]+/, server.url);
  const chat = (url: string) => api(url, 'POST', '/chat/completions', { body: { messages: [{ role: 'user', content: 'hello' }] } });

  it('answers 404, not the call with another candidate than the rollout stored', async () => {
    const res = await api(a.url, 'POST', SESSIONS, { key: KEY, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify the query.') } });
    expect(res.status).toBe(200);
    const s = res.body;
    expect((await chat(`${on(b, s.proxy_url)}/w`)).status).toBe(200); // B holds the job: the baseline only
    const added = await api(a.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key: KEY, body: { instruction: 'Classify the query, tersely.' } });
    expect(added.status).toBe(200);
    const candidateId: string = added.body.candidate_id;
    // The rollout stored on A with that candidate (a reward naming it, before the rollout's first call).
    expect((await api(a.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: 'r', candidate_id: candidateId, reward_info: { score: 1 } } })).status).toBe(200);
    expect((await api(a.url, 'POST', `${JOBS}/${s.job_id}/cancel`, { key: KEY })).status).toBe(200);
    // The delete's mark lands right after B's claim found the stored rollout.
    const store = b.store as Store;
    const claim = store.claimRollout.bind(store);
    store.claimRollout = async (...args) => {
      const found = await claim(...args);
      await sql`update jobs set deleted_at = updated_at where id = ${s.job_id}`.execute(dbOf(a.store));
      return found;
    };
    const call = await chat(`${on(b, s.proxy_url)}/r`);
    store.claimRollout = claim;
    if (call.status === 200) expect(call.headers.get('x-mipro-candidate-id')).toBe(candidateId);
    expect(call.status).toBe(404);
  });
});
