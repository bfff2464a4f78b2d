import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { MIPROX_TABLES } from '../../src/store/schema.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody, startTestServer, type TestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * One of miprox's tables dropped by hand under a running server (`drop table jobs`), the migrator's
 * own table left: /readyz read only that one and said ready while every request needing the dropped
 * table answered 503, so a balancer kept the instance in rotation. Now the readiness round trip
 * names every table of miprox's, and says down.
 */
async function droppedTableSaysDown(t: TestServer, dropJobs: () => Promise<void>): Promise<void> {
  expect((await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).status).toBe(200);
  expect((await api(t.url, 'GET', '/readyz')).status).toBe(200);
  await dropJobs();
  const listed = await api(t.url, 'GET', JOBS, { key: t.key });
  expect([listed.status, listed.body.error?.code]).toEqual([503, 'database_unavailable']);
  const ready = await api(t.url, 'GET', '/readyz');
  expect([ready.status, ready.body.database_state]).toEqual([503, 'down']);
  expect(ready.body.error).toMatch(/miprox's tables are missing.*jobs/);
}

describe('one table dropped under a running server', () => {
  it('the readiness round trip names every table of the schema', () => {
    expect([...MIPROX_TABLES].sort()).toEqual(['api_keys', 'candidates', 'events', 'jobs', 'modules', 'proposals', 'rewards', 'rollout_calls', 'rollouts', 'tenants', 'unmatched_prompts']);
  });

  it('SQLite: /readyz says down', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-one-table-')), 'miprox.db');
    const t = await startTestServer({ env: { DATABASE_URL: path } });
    const other = new Database(path);
    try {
      await droppedTableSaysDown(t, async () => {
        other.pragma('foreign_keys = OFF');
        other.exec('drop table jobs');
      });
    } finally {
      other.close();
      await t.close();
    }
  });

  it('PostgreSQL: /readyz says down', async () => {
    const schema = uniqueSchema('onetable');
    const t = await startTestServer({ db: 'postgres', env: { DATABASE_SCHEMA: schema } });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await droppedTableSaysDown(t, async () => {
        await admin.query(`drop table "${schema}".jobs cascade`);
      });
    } finally {
      await admin.end();
      await t.close();
      await dropPostgresSchema(PG_URL, schema);
    }
  });
});
