import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import type { Store } from '../../src/store/types.js';
import { api, simJobBody } from '../helpers/server.js';
import { alarmLogger, testDatabase } from '../helpers/testDatabase.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const KEY = 'mpx_job_deletion_view_key_0001';

/**
 * A job view or the jobs list read while the job is deleted and its rows removed (DELETE on any
 * instance between the job's read and the reads of its candidates, rewards, events): the job is gone,
 * so the view is a 404 and the list leaves it out, as a read a moment later does, instead of a hollow
 * view (no candidates, no best candidate) that says nothing true of any moment.
 */
describe.each(['sqlite', 'postgres'] as const)('a job view racing a delete, on %s', (db) => {
  const database = testDatabase(db, 'delv');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MIPROX_API_KEY: KEY, LOG_LEVEL: 'info', ...database.env });
  const alarms: string[] = [];
  let a: RunningServer;
  beforeAll(async () => {
    a = await startServer(config, { logger: alarmLogger(alarms) });
  });
  afterAll(async () => {
    await a?.close();
    await database.drop();
  });

  async function endedJob(): Promise<{ session_id: string; job_id: string }> {
    const res = await api(a.url, 'POST', SESSIONS, { key: KEY, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify the query.') } });
    expect((await api(a.url, 'POST', `${JOBS}/${res.body.job_id}/cancel`, { key: KEY })).status).toBe(200);
    return res.body;
  }

  /** The next call of `method` first deletes the job and removes all its rows but the job row, as a purge mid-way. */
  function purgeBefore(store: Store, method: 'listCandidates' | 'candidatesOfJobs' | 'pageCandidates', jobId: string): void {
    const s = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const original = s[method]!;
    s[method] = async (...args: unknown[]) => {
      s[method] = original;
      expect(await store.markJobDeleted(jobId)).toBe(true);
      expect(await store.purgeDeletedJob(jobId, { between: async () => true })).not.toBeNull();
      return original.apply(store, args);
    };
  }

  it('answers 404 for a job view whose job was deleted and removed while the view was read', async () => {
    alarms.length = 0;
    const s = await endedJob();
    purgeBefore(a.store, 'listCandidates', s.job_id);
    const res = await api(a.url, 'GET', `${JOBS}/${s.job_id}`, { key: KEY });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(alarms).toEqual([]);
  });

  it('leaves out of the jobs list a job deleted and removed while the page was read', async () => {
    alarms.length = 0;
    const kept = await endedJob();
    const s = await endedJob();
    purgeBefore(a.store, 'candidatesOfJobs', s.job_id);
    const res = await api(a.url, 'GET', JOBS, { key: KEY });
    expect(res.status).toBe(200);
    const ids = res.body.items.map((j: { job_id: string }) => j.job_id);
    expect(ids).not.toContain(s.job_id);
    expect(ids).toContain(kept.job_id);
    // Every job listed has its best candidate (a hollow view had none).
    for (const item of res.body.items) expect(item.best_candidate_id).not.toBeNull();
    expect(alarms).toEqual([]);
  });

  it('answers 404 for a candidates list and the legacy state read while the job was deleted and removed', async () => {
    alarms.length = 0;
    const s = await endedJob();
    purgeBefore(a.store, 'pageCandidates', s.job_id);
    const list = await api(a.url, 'GET', `/api/systems/${s.session_id}/candidates`, { key: KEY });
    expect(list.status).toBe(404);
    const t = await endedJob();
    purgeBefore(a.store, 'listCandidates', t.job_id);
    const state = await api(a.url, 'GET', `/api/prompt-learning/online/mipro/systems/${t.session_id}/state`, { key: KEY });
    expect(state.status).toBe(404);
    expect(alarms).toEqual([]);
  });
});
