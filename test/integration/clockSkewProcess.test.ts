import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { type ChildServer, spawnServer, waitExit } from '../helpers/childServer.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const SESSIONS = '/api/v1/online/sessions';
const JOBS = '/api/policy-optimization/online/jobs';
const PRELOAD = pathToFileURL(join(import.meta.dirname, '..', 'fixtures', 'skewedClock.mjs')).href;

/**
 * docs/deploy.md: an instance on PostgreSQL keeps the database's time, not its machine's. Here one
 * `miprox serve` process runs on a machine whose clock is an hour ahead (Date.now shifted by a
 * preloaded module) beside an instance that keeps time, on one schema. On its own clock it stamped
 * rollouts an hour late, counted every rollout another instance had just dispatched as missing its
 * reward (the in-flight expiry is 10 min), and after its clock stepped back an hour it kept cached
 * job state "fresh" for that hour: a candidate another instance added was not served there.
 */
describe('an instance whose machine clock is wrong, on PostgreSQL', () => {
  const schema = uniqueSchema('clock');
  const key = 'mpx_clock_skew_key_for_processes_01';
  let good: RunningServer;
  let skewed: ChildServer;

  beforeAll(async () => {
    const env = { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: key };
    good = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env }), { logger: pino({ level: 'silent' }) });
    skewed = await spawnServer({ ...env, NODE_OPTIONS: `--import ${PRELOAD}`, SKEWED_CLOCK_MS: String(3_600_000) });
  }, 120_000);
  afterAll(async () => {
    if (skewed) {
      skewed.proc.kill('SIGTERM');
      await waitExit(skewed.proc);
    }
    await good?.close();
    await dropPostgresSchema(PG_URL, schema);
  });

  async function newSession(): Promise<{ session_id: string; job_id: string }> {
    const res = await api(good.url, 'POST', SESSIONS, { key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 100_000 }, 'Answer.') } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }
  /** A scheduled rollout and its call on `base`; no reward (the app has not scored it yet). */
  async function dispatch(base: string, sid: string): Promise<void> {
    const next = await api(base, 'POST', `${SESSIONS}/${sid}/rollouts`, { key });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    const call = await api(`${base}/api/mipro/v1/${sid}`, 'POST', `/${next.body.rollout_id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect(call.status).toBe(200);
  }

  it('stamps its rows on the database clock and counts no reward missing that is seconds old', async () => {
    const s = await newSession();
    for (let i = 0; i < 4; i++) await dispatch(good.url, s.session_id);
    for (let i = 0; i < 2; i++) await dispatch(skewed.url, s.session_id);
    const view = await api(skewed.url, 'GET', `${JOBS}/${s.job_id}`, { key });
    expect(view.status).toBe(200);
    const rates = [...JSON.stringify(view.body).matchAll(/"missing_reward_rate":([^,}]+)/g)].map((m) => m[1]);
    expect(rates.length).toBeGreaterThan(0);
    expect(rates.every((r) => r === 'null' || r === '0'), rates.join(' ')).toBe(true);

    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    try {
      const { rows } = await db.query(`select max(abs(extract(epoch from (created_at::timestamptz - clock_timestamp())))) as off from "${schema}".rollouts where job_id = $1`, [s.job_id]);
      expect(Number(rows[0].off)).toBeLessThan(60);
    } finally {
      await db.end();
    }
  });

  it('sees a candidate added on another instance within seconds after its machine clock stepped back an hour', async () => {
    const s = await newSession();
    const call = () => api(`${skewed.url}/api/mipro/v1/${s.session_id}`, 'POST', '/chat/completions', { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect((await call()).headers.get('x-mipro-candidate-id')).toBe('baseline'); // the job is cached there now
    skewed.proc.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 200));
    const added = await api(good.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key, body: { instruction: 'Answer briefly.' } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    // Its cached candidates are re-read within the 1 s cache TTL, and the new one is tried.
    await waitFor(async () => (await call()).headers.get('x-mipro-candidate-id') !== 'baseline', 10_000);
  });
});
