import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * PostgreSQL refusing the server's new connections at login while it runs: its password rotated
 * before the instance's DATABASE_URL was, the role disabled, the database renamed. /readyz already
 * said down, but every request that needed a new connection was a 500 internal_error ("role ... is
 * not permitted to log in" in the log). Docs (API.md, Errors): a refused connect is a 503
 * database_unavailable, and the server serves again by itself once logins work.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe('PostgreSQL refusing logins under a running server', () => {
  it('answers 503 database_unavailable, then serves again once the login works', async () => {
    const role = `miprox_login_${randomBytes(4).toString('hex')}`;
    const schema = uniqueSchema('login');
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create role ${role} login`);
    await admin.query(`create schema ${schema} authorization ${role}`);
    const url = new URL(PG_URL);
    url.username = role;
    url.searchParams.set('application_name', role);
    const t = await startTestServer({ db: 'postgres', env: { DATABASE_URL: url.toString(), DATABASE_SCHEMA: schema } });
    try {
      expect((await api(t.url, 'GET', JOBS, { key: t.key })).status).toBe(200);
      await admin.query(`alter role ${role} nologin`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [role]);
      // /readyz's round trip drops the terminated pooled connections, then meets the refused login:
      // from then on every request needs a new connection (a dead one is a 503 for another reason).
      await waitFor(async () => /not permitted to log in/.test((await api(t.url, 'GET', '/readyz')).body.error ?? ''));
      const refused = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
      expect([refused.status, refused.body.error?.code]).toEqual([503, 'database_unavailable']);
      expect(refused.headers.get('retry-after')).toBe('1');

      await admin.query(`alter role ${role} login`);
      expect((await api(t.url, 'GET', '/readyz')).status).toBe(200);
      // A pooled connection terminated above and not yet noticed makes one request a 503 of its own.
      let after = 0;
      await waitFor(async () => (after = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).status) !== 503);
      expect(after).toBe(200);
    } finally {
      await t.close();
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  });
});
