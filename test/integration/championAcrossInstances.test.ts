import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { addCandidates, api, simJobBody } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';

/**
 * Each instance decides the champion after the rewards it takes, on its own cache: the rewarded
 * candidate's statistics are fresh, the others' up to the cache's age. Two instances whose stale
 * views disagree undid each other's choice on every reward: through three instances behind HAProxy,
 * 177 `mipro.best.changed` events in 1,800 rewards, flipping between two candidates several times a
 * second, and `best_candidate_id` with them. Here the caches never expire on their own (cacheTtlMs),
 * so the stale views are certain rather than a matter of timing.
 */
describe('the champion on two instances with stale caches (PostgreSQL)', () => {
  const schema = uniqueSchema('champ');
  const key = 'mpx_shared_key_for_champion_test_0001';
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: key, LOG_LEVEL: 'silent' });
    const logger = () => pino({ level: process.env.MIPROX_TEST_LOG ?? 'silent' });
    [a, b] = await Promise.all([startServer(config, { logger: logger(), cacheTtlMs: 600_000 }), startServer(config, { logger: logger(), cacheTtlMs: 600_000 })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropPostgresSchema(PG_URL, schema);
  });

  it('changes the champion only on current statistics, so instances do not undo each other', async () => {
    const created = await api(a.url, 'POST', SESSIONS, {
      key, body: { config_body: simJobBody({ online_rollouts_per_candidate: 4, online_proposer_min_rollouts: 100_000 }, 'Classify the query.') },
    });
    expect(created.status).toBe(200);
    const { session_id: sid, job_id: jobId } = created.body as { session_id: string; job_id: string };
    await addCandidates(a.store, jobId, ['cand_x', 'cand_y']);
    const reward = async (via: RunningServer, candidate: string, score: number) => {
      const res = await api(via.url, 'POST', `${SESSIONS}/${sid}/reward`, { key, body: { candidate_id: candidate, reward_info: { score } } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    // Both instances read the job now, with no candidate rewarded yet; their caches stay as read.
    await reward(a, 'baseline', 0);
    await reward(b, 'baseline', 0);
    // cand_x is truly the best (always 1); cand_y is good (0.9). a sees cand_x's rewards, b cand_y's.
    for (let i = 0; i < 6; i++) await reward(a, 'cand_x', 1);
    for (let i = 0; i < 20; i++) {
      await reward(b, 'cand_y', 0.9);
      await reward(a, 'cand_x', 1);
    }
    const view = (await api(b.url, 'GET', `${SESSIONS}/${sid}`, { key })).body as { best_candidate_id: string };
    expect(view.best_candidate_id).toBe('cand_x');
    const events = (await api(a.url, 'GET', `${SESSIONS}/${sid}/events?limit=1000`, { key })).body.events as Array<{ event_type: string; data: { candidate_id: string } }>;
    const changes = events.filter((e) => e.event_type === 'mipro.best.changed').map((e) => e.data.candidate_id);
    // One change, to cand_x, made once it had R rewards; never back and forth.
    expect(changes).toEqual(['cand_x']);
  });
});
