import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { systemClock } from '../../src/shared/clock.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { waitFor } from '../helpers/waitFor.js';

/** kysely's migration lock on PostgreSQL (kysely/dist/esm/dialect/postgres/postgres-adapter.js). */
const KYSELY_LOCK_ID = '3853314791062309107';

/**
 * docs/deploy.md: a rolling upgrade runs the newer release's `miprox migrate` first. An instance of
 * this release that starts meanwhile checks the recorded migrations (none unknown yet), then waits on
 * the migrator's lock; the newer release records its migration and lets go. The start must then take
 * the database as a newer release's (088aa69), not fail with kysely's "corrupted migrations".
 */
describe('starting while a newer release migrates (postgres)', () => {
  it('takes the database as the newer release left it once its lock is released', async () => {
    const schema = uniqueSchema('migrace');
    const newer = new pg.Client({ connectionString: PG_URL });
    await newer.connect();
    try {
      await (await openPostgresStore(PG_URL, schema, systemClock)).close();
      // The newer release's migrate holds the lock while it works.
      await newer.query(`select pg_advisory_lock(${KYSELY_LOCK_ID})`);
      const starting = openPostgresStore(PG_URL, schema, systemClock).then(
        async (store) => { await store.close(); return 'started'; },
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      // This start checked, found nothing unknown, and now waits for the lock.
      await waitFor(async () => (await newer.query(`select 1 from pg_locks where locktype = 'advisory' and not granted and objid = (${KYSELY_LOCK_ID}::bigint & 4294967295)`)).rowCount! > 0, 10_000);
      await newer.query(`insert into "${schema}".kysely_migration (name, timestamp) values ('9999_next_release', $1)`, [new Date().toISOString()]);
      await newer.query(`select pg_advisory_unlock(${KYSELY_LOCK_ID})`);
      expect(await starting).toBe('started');
    } finally {
      await newer.end();
      await dropPostgresSchema(PG_URL, schema);
    }
  });
});
