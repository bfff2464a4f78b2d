import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';
const STORED = 2 ** 32;

/**
 * Jobs stored before max_rollouts was capped at 2^31 - 1 keep their config as written: a larger
 * budget made every reward of such a job a 500 on PostgreSQL (the store compares it with a 32-bit
 * count). It is read as the cap, a budget that is never reached either, and the stored text stays.
 */
describe.each(['sqlite', 'postgres'] as const)('a job stored with max_rollouts above 2^31 - 1 (%s)', (db) => {
  const schema = uniqueSchema('budget');
  const file = join(mkdtempSync(join(tmpdir(), 'miprox-budget-')), 'miprox.db');
  const env: Record<string, string> = db === 'postgres' ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema } : { DATABASE_URL: file };
  afterAll(async () => {
    if (db === 'postgres') await dropPostgresSchema(PG_URL, schema);
  });

  /** Runs one statement on the database itself, as an older release's row would have been written. */
  async function query<T>(text: string, values: unknown[]): Promise<T[]> {
    if (db === 'sqlite') {
      const conn = new BetterSqlite3(file);
      try {
        const stmt = conn.prepare(text.replace(/\$\d+/g, '?'));
        return stmt.reader ? (stmt.all(...values) as T[]) : (stmt.run(...values), []);
      } finally {
        conn.close();
      }
    }
    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${schema}"` });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  }

  it('takes its rewards and shows the cap, and its stored config is left as it was', async () => {
    // db: 'sqlite' only keeps the helper from dropping a schema of its own; env chooses the database.
    const first = await startTestServer({ db: 'sqlite', env });
    const key = first.key;
    const job = (await api(first.url, 'POST', JOBS, { key, body: simJobBody({ max_rollouts: 3 }) })).body;
    await first.close();
    const [row] = await query<{ config: string }>('select config from jobs where id = $1', [job.job_id]);
    const written = row!.config.replace('"max_rollouts":3', `"max_rollouts":${STORED}`);
    expect(written).not.toBe(row!.config);
    await query('update jobs set config = $1 where id = $2', [written, job.job_id]);

    const t = await startTestServer({ db: 'sqlite', env });
    try {
      const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key, body: { candidate_id: 'baseline', reward_info: { score: 1 } } });
      expect([reward.status, reward.body.split, reward.body.job_status]).toEqual([200, 'online', 'running']);
      const view = (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key })).body;
      expect([view.max_rollouts, view.reward_count]).toEqual([2 ** 31 - 1, 1]);
    } finally {
      await t.close();
    }
    expect((await query<{ config: string }>('select config from jobs where id = $1', [job.job_id]))[0]!.config).toBe(written);
  });
});
