import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * PostgreSQL accepting reads but refusing writes: after a failover the address still leads to the old
 * primary, now a standby, or the database was put read-only for maintenance (here: the role's
 * default_transaction_read_only, which is what a hot standby answers too: 25006). Every write was a
 * 500 internal_error while /readyz, whose round trip only reads, said ready, so the balancer kept the
 * instance. Writes answer 503 database_unavailable, and /readyz says down for as long as the
 * database refuses them (its round trip asks), not only for a while after each refused write.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe('PostgreSQL refusing writes under a running server', () => {
  it('answers 503 database_unavailable and says down on /readyz, then serves again', async () => {
    const role = `miprox_ro_${randomBytes(4).toString('hex')}`;
    const schema = uniqueSchema('ro');
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create role ${role} login`);
    await admin.query(`create schema ${schema} authorization ${role}`);
    const url = new URL(PG_URL);
    url.username = role;
    url.searchParams.set('application_name', role);
    const t = await startTestServer({ db: 'postgres', env: { DATABASE_URL: url.toString(), DATABASE_SCHEMA: schema } });
    // The role's setting applies to connections opened after it: the switchover ends the old ones.
    const reconnect = () => admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [role]);
    try {
      await admin.query(`alter role ${role} set default_transaction_read_only = on`);
      await reconnect();
      // A request that meets a terminated pooled connection is a 503 of its own (the pool drops it):
      // wait until reads are served on fresh, read-only connections.
      await waitFor(async () => (await api(t.url, 'GET', JOBS, { key: t.key })).status === 200);
      // Down as long as the database refuses writes, not only for 5 s after a refused one: a balancer
      // that took the instance out sends it no writes, so it said ready again, got traffic back and
      // answered it 503s, over and over. Here no write was tried yet.
      const before = await api(t.url, 'GET', '/readyz');
      expect([before.status, before.body.error]).toEqual([503, expect.stringMatching(/read-only/)]);
      const refused = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
      expect([refused.status, refused.body.error?.code]).toEqual([503, 'database_unavailable']);
      expect(refused.headers.get('retry-after')).toBe('1');
      const ready = await api(t.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.error).toMatch(/read-only/);

      await admin.query(`alter role ${role} reset default_transaction_read_only`);
      await reconnect();
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
