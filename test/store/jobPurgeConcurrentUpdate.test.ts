import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import { systemClock } from '../../src/shared/clock.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { insertRollouts, jobRowCounts } from '../helpers/jobRows.js';
import { waitFor } from '../helpers/waitFor.js';
import { sampleConfig } from './storeContract.js';

/**
 * PostgreSQL deletes a slice by the rows' physical addresses (ctid). A row another transaction
 * updates meanwhile (the retention pass clearing old texts, a late call record) has moved when the
 * slice's delete gets to it, and is skipped: a slice can then remove nothing while the table still
 * holds rows of the job. The removal must go on slicing that table, not leave its rest to the final
 * transaction, which removes it in one statement while holding the job row's lock.
 */
describe('removing a deleted job while its rows are updated, on postgres', () => {
  it('slices a table until none of the job\'s rows are left in it, also when a slice skipped rows that moved', async () => {
    const schema = uniqueSchema('purgeupd');
    const store = await openPostgresStore(PG_URL, schema, systemClock);
    const other = new pg.Client({ connectionString: PG_URL });
    const watcher = new pg.Client({ connectionString: PG_URL });
    await other.connect();
    await watcher.connect();
    try {
      const tenant = await store.createTenant('t');
      const job = await store.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });
      await insertRollouts(store, job.id, 20);
      await store.transitionJob(job.id, ['running'], 'cancelled', { eventType: 'mipro.job.status', message: 'cancelled' }, BASELINE_ID);
      expect(await store.markJobDeleted(job.id)).toBe(true);

      // Another transaction updates every rollout of the job (as a retention pass does) and holds them.
      await other.query(`set search_path to "${schema}"`);
      await other.query('begin');
      await other.query(`update rollouts set output_text = null where job_id = $1`, [job.id]);

      // What is left of the job's rollouts after each slice, as the removal sees it.
      const rolloutsLeft: number[] = [];
      const purge = store.purgeDeletedJob(job.id, {
        sliceRows: 100,
        between: async () => {
          rolloutsLeft.push((await jobRowCounts(store, job.id)).rollouts!);
          return true;
        },
      });
      // The rollouts slice waits for the update's row locks; the update then commits, moving every row.
      // (Asked on a connection of its own: inside a transaction pg_stat_activity keeps its first answer.)
      await waitFor(async () => (await watcher.query<{ n: string }>(
        `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'delete from "rollouts"%'`,
      )).rows[0]!.n !== '0', 10_000);
      await other.query('commit');
      expect(await purge).not.toBeNull();

      // Every row is gone, and the rollouts went in slices: none was left for the final transaction.
      expect(Object.values(await jobRowCounts(store, job.id)).every((n) => n === 0)).toBe(true);
      expect(rolloutsLeft.at(-1)).toBe(0);
    } finally {
      await other.end();
      await watcher.end();
      await store.close();
      await dropPostgresSchema(PG_URL, schema);
    }
  });
});
