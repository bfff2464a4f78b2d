import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { migrateDatabase } from '../../src/store/open.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * The server's schema emptied under it: a `pg_restore --clean` run while an instance still serves
 * (docs/deploy.md says to stop them first; one forgotten behind the balancer), or a schema dropped by
 * mistake. Every request was a 500 internal_error while /readyz said "ready" (its round trip,
 * `select 1`, touches no table), so the balancer kept sending traffic to the instance. Like a SQLite
 * file deleted under the server: requests answer 503 database_unavailable, /readyz says down, and
 * the server serves again once the tables are back.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe('a PostgreSQL schema emptied under a running server', () => {
  it('answers 503 and says down on /readyz until the tables are back', async () => {
    const schema = uniqueSchema('gone');
    const t = await startTestServer({ db: 'postgres', env: { DATABASE_SCHEMA: schema } });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).body;
      const call = (rolloutId: string) => api(job.proxy_url, 'POST', `/${rolloutId}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } });
      expect((await call('before')).status).toBe(200);

      await admin.query(`drop schema "${schema}" cascade`);
      const ready = await api(t.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ database_state: 'down' });
      expect(ready.body.error).toMatch(/miprox's tables are missing/);
      const listed = await api(t.url, 'GET', JOBS, { key: t.key });
      expect([listed.status, listed.body.error?.code]).toEqual([503, 'database_unavailable']);
      const proxied = await call('during');
      expect([proxied.status, proxied.body.error?.code]).toEqual([503, 'database_unavailable']);

      // The restore (here: an empty schema migrated again) ends it without a restart.
      await migrateDatabase({ kind: 'postgres', url: PG_URL, schema }, systemClock);
      expect((await api(t.url, 'GET', '/readyz')).status).toBe(200);
      const { key } = await t.newTenantKey();
      expect((await api(t.url, 'GET', JOBS, { key })).status).toBe(200);
    } finally {
      await admin.end();
      await t.close();
      await dropPostgresSchema(PG_URL, schema);
    }
  });
});
