import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { migrateDatabase } from '../../src/store/open.js';
import { isDatabaseUnavailable, isTablesMissing } from '../../src/store/unavailable.js';
import { api, simJobBody, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * miprox's tables dropped from the SQLite file under the running server (another process emptying
 * it, a restore under way), the file itself staying in place. Every request was a 500 internal_error
 * ("SQLITE_ERROR: no such table: jobs") while PostgreSQL's missing tables (42P01) answer 503: now the
 * same 503 database_unavailable (retry later), /readyz says down, and the server serves again once
 * the tables are back. A genuine bug (a statement naming a column that does not exist) stays a 500.
 */
describe('SQLite tables dropped under a running server', () => {
  it('answers 503 and says down on /readyz until the tables are back', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-tables-')), 'miprox.db');
    const t = await startTestServer({ env: { DATABASE_URL: path } });
    const other = new Database(path);
    try {
      const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).body as { proxy_url: string };
      const call = (rolloutId: string) => api(job.proxy_url, 'POST', `/${rolloutId}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } });
      expect((await call('before')).status).toBe(200);

      const tables = other.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'").pluck().all() as string[];
      other.pragma('foreign_keys = OFF');
      for (const name of tables) other.exec(`drop table "${name}"`);

      const listed = await api(t.url, 'GET', JOBS, { key: t.key });
      expect([listed.status, listed.headers.get('retry-after'), listed.body.error?.code]).toEqual([503, '1', 'database_unavailable']);
      const proxied = await call('during');
      expect([proxied.status, proxied.body.error?.code]).toEqual([503, 'database_unavailable']);
      const ready = await api(t.url, 'GET', '/readyz');
      expect([ready.status, ready.body.database_state]).toEqual([503, 'down']);
      expect(ready.body.error).toMatch(/miprox's tables are missing/);

      // Back (here: the emptied file migrated again): served again without a restart.
      await migrateDatabase({ kind: 'sqlite', path }, systemClock);
      expect((await api(t.url, 'GET', '/readyz')).status).toBe(200);
      const { key } = await t.newTenantKey();
      expect((await api(t.url, 'GET', JOBS, { key })).status).toBe(200);
    } finally {
      other.close();
      await t.close();
    }
  });
});

describe('which SQLite errors say the tables are gone', () => {
  const errorOf = (db: Database.Database, statement: string): unknown => {
    try {
      db.prepare(statement).all();
    } catch (err) {
      return err;
    }
    throw new Error(`${statement} succeeded`);
  };

  it('is a miprox table missing, not any SQLITE_ERROR (a malformed statement or a table miprox never had stays a bug)', () => {
    const db = new Database(':memory:');
    try {
      db.exec('create table jobs (id text)');
      const noColumn = errorOf(db, 'select no_such_column from jobs');
      const neverATable = errorOf(db, 'select * from jobz');
      const syntax = errorOf(db, 'selec 1');
      for (const err of [noColumn, neverATable, syntax]) {
        expect((err as { code: string }).code).toBe('SQLITE_ERROR');
        expect([isTablesMissing(err), isDatabaseUnavailable(err)]).toEqual([false, false]);
      }
      db.exec('drop table jobs');
      const gone = errorOf(db, 'select * from jobs');
      expect(String(gone)).toMatch(/no such table: jobs/);
      expect([isTablesMissing(gone), isDatabaseUnavailable(gone)]).toEqual([true, true]);
    } finally {
      db.close();
    }
  });
});
