import type pg from 'pg';
import { expect, it } from 'vitest';
import { JobGoneError } from '../../src/shared/errors.js';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import { systemClock } from '../../src/shared/clock.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import type { NewRollout } from '../../src/store/types.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { jobRowCounts } from '../helpers/jobRows.js';
import { sampleConfig } from './storeContract.js';

/**
 * PostgreSQL's hot path writes a batch of rollouts and call records, of many jobs, in one statement
 * (pgBatchSql.ts). A late write of a job deleted and removed meanwhile (a call in flight at the
 * delete, another instance's cache within its second) is refused for that job alone, in the same
 * statement: it no longer fails the batch on the foreign key, after which every item of the batch
 * ran again alone, one round trip each, while the other jobs' proxied calls waited.
 */
it('refuses a removed job\'s rollout in a batch without failing the batch or running its items again one by one', async () => {
  const schema = uniqueSchema('gonebatch');
  const store = await openPostgresStore(PG_URL, schema, systemClock);
  try {
    const tenant = await store.createTenant('t');
    const job = () => store.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });
    const [gone, kept] = [await job(), await job()];
    const rollout = (jobId: string, id: string): NewRollout => ({ jobId, id, candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null });
    expect(await store.insertRollout(rollout(gone.id, 'before'))).toBe(true);
    await store.transitionJob(gone.id, ['running'], 'cancelled', { eventType: 'mipro.job.status', message: 'cancelled' }, BASELINE_ID);
    expect(await store.markJobDeleted(gone.id)).toBe(true);
    expect(await store.purgeDeletedJob(gone.id, { between: async () => true })).not.toBeNull();

    // Statements the hot path sends from here on.
    const pool = (store as unknown as { hot: { pool: pg.Pool } }).hot.pool;
    let statements = 0;
    const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
    (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements += 1;
      return query(...args);
    };
    const keptWrites = Array.from({ length: 50 }, (_, i) => store.insertRollout(rollout(kept.id, `k${i}`)));
    const goneWrite = store.insertRollout(rollout(gone.id, 'late')).then(() => 'stored', (err: unknown) => err);
    const goneCall = store.completeRolloutCall(gone.id, 'before', {
      inputMessages: [{ role: 'user', content: 'hi' }], outputText: 'hello', latencyMs: 5, usage: null, failed: false, module: 'main', variables: null,
    }).then(() => 'settled', (err: unknown) => err);
    const [keptResults, goneResult, callResult] = await Promise.all([Promise.all(keptWrites), goneWrite, goneCall]);
    expect(statements).toBe(1);
    expect(keptResults).toEqual(keptWrites.map(() => true));
    expect(goneResult).toBeInstanceOf(JobGoneError);
    expect(callResult).toBe('settled');
    expect(Object.values(await jobRowCounts(store, gone.id)).every((n) => n === 0)).toBe(true);
    expect((await jobRowCounts(store, kept.id)).rollouts).toBe(50);
  } finally {
    await store.close();
    await dropPostgresSchema(PG_URL, schema);
  }
});
