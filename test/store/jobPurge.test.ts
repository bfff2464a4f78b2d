import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import { systemClock } from '../../src/shared/clock.js';
import type { KyselyStore } from '../../src/store/kyselyStore.js';
import { PURGE_SLICE_ROWS } from '../../src/store/jobPurge.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { openSqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { jobRowCounts, totalRows } from '../helpers/jobRows.js';
import { sampleConfig } from './storeContract.js';

async function fill(store: KyselyStore, jobId: string, count: number): Promise<void> {
  const now = new Date().toISOString();
  await store.db.transaction().execute(async (trx) => {
    for (let from = 0; from < count; from += 500) {
      const ids = Array.from({ length: Math.min(500, count - from) }, (_, i) => `r${from + i}`);
      await trx.insertInto('rollouts').values(ids.map((id) => ({
        job_id: jobId, id, candidate_id: BASELINE_ID, seed: null, split: 'online', correlation_id: null, status: 'completed',
        input_messages: '[]', output_text: 'a', latency_ms: 1, usage: null, call_count: 1, reward: 1, created_at: now, updated_at: now,
      }))).execute();
      await trx.insertInto('rollout_calls').values(ids.map((id) => ({
        job_id: jobId, rollout_id: id, seq: 1, module: 'main', input_messages: '[]', variables: null, output_text: 'a',
        latency_ms: 1, usage: null, failed: 0, created_at: now, tool_calls: 0, own_system_text: 0,
      }))).execute();
      await trx.insertInto('rewards').values(ids.map((id) => ({
        job_id: jobId, rollout_id: id, candidate_id: BASELINE_ID, reward: 1, split: 'online', seed: null, metadata: null, created_at: now, feedback: null, feedback_by_module: null,
      }))).execute();
    }
  });
}

/**
 * A deleted job's rows go in slices (store/jobPurge.ts): other writes get through between them (on
 * SQLite the write lock is free there), every row of the job goes, another job's stay, and only an
 * ended job can be marked.
 */
describe.each(['sqlite', 'postgres'] as const)('removing a deleted job in slices on %s', (db) => {
  it('removes every row of the job slice by slice while another job is written in between', async () => {
    const schema = uniqueSchema('purge');
    const store = db === 'sqlite'
      ? await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'miprox-purge-')), 'purge.db'), systemClock)
      : await openPostgresStore(PG_URL, schema, systemClock);
    try {
      const tenant = await store.createTenant('t');
      const job = () => store.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });
      const [gone, kept] = [await job(), await job()];
      const count = Math.round(PURGE_SLICE_ROWS[db] * 2.5);
      await fill(store, gone.id, count);
      await fill(store, kept.id, 10);
      const keptBefore = await jobRowCounts(store, kept.id);

      expect(await store.markJobDeleted(gone.id)).toBe(false); // running: never marked
      await store.transitionJob(gone.id, ['running'], 'cancelled', { eventType: 'mipro.job.status', message: 'cancelled' }, BASELINE_ID);
      expect(await store.markJobDeleted(gone.id)).toBe(true);
      expect(await store.markJobDeleted(gone.id)).toBe(false); // once
      expect(await store.getJob(gone.id)).toBeNull();
      expect(await store.getJobBySystemId(gone.systemId)).toBeNull();
      expect((await store.listJobs(tenant.id, { limit: 10 })).items.map((j) => j.id)).toEqual([kept.id]);
      expect(await store.deletedJobIds()).toEqual([gone.id]);

      let slices = 0;
      let written = 0;
      const removed = await store.purgeDeletedJob(gone.id, {
        between: async () => {
          slices++;
          // Another job's rollout, committed between two slices.
          if (await store.insertRollout({ jobId: kept.id, id: `between-${slices}`, candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null })) written++;
          return true;
        },
      });
      expect(removed).toBeGreaterThanOrEqual(3 * count);
      // rollout_calls, rewards and rollouts took three slices each (and an empty one to be sure).
      expect(slices).toBeGreaterThanOrEqual(3 * 3);
      expect(written).toBe(slices);
      expect(totalRows(await jobRowCounts(store, gone.id))).toBe(0);
      expect(await store.deletedJobIds()).toEqual([]);
      const keptAfter = await jobRowCounts(store, kept.id);
      expect(keptAfter).toEqual({ ...keptBefore, rollouts: keptBefore.rollouts! + written });
      // Once its row is gone, no write of the job is stored: the foreign keys refuse it.
      await expect(store.insertRollout({ jobId: gone.id, id: 'late', candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null })).rejects.toThrow();
      expect(totalRows(await jobRowCounts(store, gone.id))).toBe(0);
    } finally {
      await store.close();
      if (db === 'postgres') await dropPostgresSchema(PG_URL, schema);
    }
  });
});
