import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import type { Store } from '../../src/store/types.js';
import { api, simJobBody } from '../helpers/server.js';
import { alarmLogger, testDatabase } from '../helpers/testDatabase.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const KEY = 'mpx_job_deletion_races_key_0001';

interface Session { session_id: string; job_id: string; proxy_url: string }

/**
 * Moves of a job that race its DELETE (docs/API.md, "Deleting a job"): whatever step the delete
 * lands between, the move answers as for an unknown job (404), never a conflict or a 500, and the
 * instance logs nothing at warn or above.
 */
describe.each(['sqlite', 'postgres'] as const)('a job deleted while a request moves it, on %s', (db) => {
  const database = testDatabase(db, 'delr');
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

  async function session(): Promise<Session> {
    const res = await api(a.url, 'POST', SESSIONS, { key: KEY, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify the query.') } });
    expect(res.status).toBe(200);
    return res.body as Session;
  }

  /** The next transitionJob of the store first marks `jobId` deleted, as a DELETE on any instance would at that moment. */
  function deleteBeforeNextMove(store: Store, jobId: string): void {
    const original = store.transitionJob;
    store.transitionJob = async (...args) => {
      store.transitionJob = original;
      expect(await store.markJobDeleted(jobId)).toBe(true);
      return original.apply(store, args);
    };
  }

  it('answers a promote whose job is deleted after it was read with 404, as for an unknown job', async () => {
    alarms.length = 0;
    const s = await session();
    // Succeeded (promoted once): it can be promoted again, and deleted.
    expect((await api(a.url, 'POST', `${JOBS}/${s.job_id}/promote`, { key: KEY, body: { candidate_id: 'baseline' } })).status).toBe(200);
    deleteBeforeNextMove(a.store, s.job_id);
    const res = await api(a.url, 'POST', `${JOBS}/${s.job_id}/promote`, { key: KEY, body: { candidate_id: 'baseline' } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await api(a.url, 'GET', `${JOBS}/${s.job_id}`, { key: KEY })).status).toBe(404);
    expect(alarms).toEqual([]);
  });

  it('answers a cancel whose job is deleted after it was read with 404 (sessions path)', async () => {
    alarms.length = 0;
    const s = await session();
    // The cancel reads the job running; by its write the job has ended elsewhere and been deleted.
    const original = a.store.transitionJob;
    a.store.transitionJob = async (...args) => {
      a.store.transitionJob = original;
      expect(await original.call(a.store, s.job_id, ['running'], 'failed', { eventType: 'mipro.job.status', message: 'job failed', data: { status: 'failed' } }, 'baseline')).not.toBeNull();
      expect(await a.store.markJobDeleted(s.job_id)).toBe(true);
      return original.apply(a.store, args);
    };
    const res = await api(a.url, 'POST', `${SESSIONS}/${s.session_id}/cancel`, { key: KEY });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(alarms).toEqual([]);
  });

  it('answers a scheduled rollout whose job is deleted after the route read it with 404, not a 500 (the job not cached yet)', async () => {
    alarms.length = 0;
    const s = await session();
    expect((await api(a.url, 'POST', `${JOBS}/${s.job_id}/cancel`, { key: KEY })).status).toBe(200);
    // The route reads the job ended; a DELETE (any instance) marks it before the scheduler loads its runtime.
    const original = a.store.getJobBySystemId;
    a.store.getJobBySystemId = async (...args) => {
      a.store.getJobBySystemId = original;
      const job = await original.apply(a.store, args);
      expect(await a.store.markJobDeleted(s.job_id)).toBe(true);
      return job;
    };
    const res = await api(a.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: KEY });
    expect(res.status, JSON.stringify(res.body)).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await api(a.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: KEY })).status).toBe(404);
    expect(alarms).toEqual([]);
  });

  /** The next listCandidates of the store runs after a DELETE removed the job's rows: the job row was read just before, as a refresh's parallel reads can interleave. */
  function purgeBeforeNextCandidates(store: Store, jobId: string): void {
    const original = store.listCandidates;
    store.listCandidates = async (...args) => {
      store.listCandidates = original;
      expect(await store.markJobDeleted(jobId)).toBe(true);
      expect(await store.purgeDeletedJob(jobId, { between: async () => true })).not.toBeNull();
      return original.apply(store, args);
    };
  }

  it('answers a call and a scheduled rollout whose job\'s rows went between the job\'s read and its candidates\' with 404, not a 500', async () => {
    alarms.length = 0;
    for (const via of ['proxy', 'scheduler'] as const) {
      const s = await session();
      expect((await api(a.url, 'POST', `${JOBS}/${s.job_id}/cancel`, { key: KEY })).status).toBe(200);
      purgeBeforeNextCandidates(a.store, s.job_id);
      const res = via === 'proxy'
        ? await api(s.proxy_url, 'POST', '/r1/chat/completions', { body: { messages: [{ role: 'user', content: 'hi' }] } })
        : await api(a.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: KEY });
      expect(res.status, `${via}: ${JSON.stringify(res.body)}`).toBe(404);
    }
    expect(alarms).toEqual([]);
  });

  /** The next `method` of the store returns what it read, and then a DELETE marks the job and removes its rows. */
  function purgeAfterNext(store: Store, method: 'getRollout' | 'listCandidates', jobId: string): void {
    const original = store[method] as (...args: unknown[]) => Promise<unknown>;
    (store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      (store as unknown as Record<string, unknown>)[method] = original;
      const read = await original.apply(store, args);
      expect(await store.markJobDeleted(jobId)).toBe(true);
      expect(await store.purgeDeletedJob(jobId, { between: async () => true })).not.toBeNull();
      return read;
    };
  }

  it('answers a rollout view or an export whose job\'s rows went while it was read with 404, not a hollow 200', async () => {
    alarms.length = 0;
    for (const [what, method] of [['rollout', 'getRollout'], ['export', 'listCandidates']] as const) {
      const s = await session();
      const call = await api(s.proxy_url, 'POST', '/r1/chat/completions', { body: { messages: [{ role: 'system', content: 'Classify the query.' }, { role: 'user', content: 'hi' }] } });
      expect(call.status).toBe(200);
      await a.settled();
      expect((await api(a.url, 'POST', `${JOBS}/${s.job_id}/cancel`, { key: KEY })).status).toBe(200);
      // The route read the job, then the rollout (or the candidates); the rows went before the rest was read.
      purgeAfterNext(a.store, method, s.job_id);
      const res = what === 'rollout'
        ? await api(a.url, 'GET', `/api/systems/${s.session_id}/rollouts/r1`, { key: KEY })
        : await api(a.url, 'GET', `${JOBS}/${s.job_id}/export`, { key: KEY });
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(404);
      expect(res.body.error.message).toBe(`job ${s.job_id} not found`);
    }
    expect(alarms).toEqual([]);
  });
});
