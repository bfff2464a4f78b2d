import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import { systemClock } from '../../src/shared/clock.js';
import { openSqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import { meanCallPositionQuery } from '../../src/store/programQueries.js';
import { runStoreContract, sampleConfig } from './storeContract.js';

const dir = mkdtempSync(join(tmpdir(), 'miprox-store-'));
runStoreContract('sqlite', () => openSqliteStore(join(dir, 'contract.db'), systemClock));

describe('SQLite hot path beside kysely on one connection', () => {
  it('never joins (or is rolled back with) a kysely transaction that is open when it flushes', async () => {
    const store = await openSqliteStore(join(dir, 'shared-connection.db'), systemClock);
    try {
      const tenant = await store.createTenant('t');
      const job = await store.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });
      let hotWrite: Promise<boolean> | undefined;
      const failing = store.db.transaction().execute(async (trx) => {
        await trx.updateTable('jobs').set({ metadata: '{"x":1}' }).where('id', '=', job.id).execute();
        // While this transaction is open across event-loop turns, a hot-path write is queued and flushed.
        hotWrite = store.insertRollout({ jobId: job.id, id: 'r1', candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null });
        await new Promise((r) => setTimeout(r, 30));
        throw new Error('roll back');
      });
      await expect(failing).rejects.toThrow('roll back');
      expect(await hotWrite).toBe(true);
      expect(await store.getRollout(job.id, 'r1')).not.toBeNull();
      const after = await store.getJob(job.id);
      expect(after?.metadata).toEqual({});
      expect(after?.rolloutCount).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('SQLite: the order of a program\'s modules', () => {
  it('reads each module\'s recent calls from the rollout_calls_module index: no sort, no table read, not the job\'s every call', async () => {
    const store = await openSqliteStore(join(dir, 'call-order.db'), systemClock);
    try {
      const q = meanCallPositionQuery(store.db, 'pl_x', 'main').compile();
      const plan = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]));
      const details = plan.rows.map((r) => r.detail);
      expect(details.some((d) => /^SEARCH rollout_calls USING COVERING INDEX rollout_calls_module \(job_id=\? AND module=\?\)$/.test(d)), details.join('\n')).toBe(true);
      expect(details.filter((d) => /TEMP B-TREE|SCAN rollout_calls/.test(d)), details.join('\n')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe('SQLite hot path: counts of a batch that failed', () => {
  it('never carries the counts of a batch SQLite rolled back (disk full) into the next batch', async () => {
    const store = await openSqliteStore(join(dir, 'full-batch.db'), systemClock);
    try {
      const tenant = await store.createTenant('t');
      const job = await store.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });
      const rollout = (id: string) => ({ jobId: job.id, id, candidateId: BASELINE_ID, seed: null, split: 'online' as const, correlationId: null, inputMessages: null });
      expect(await store.insertRollout(rollout('r0'))).toBe(true);
      const pages = (await sql<{ page_count: number }>`pragma page_count`.execute(store.db)).rows[0]!.page_count;
      await sql.raw(`pragma max_page_count = ${pages}`).execute(store.db); // the file may not grow, as on a full disk
      // One batch: a rollout insert (counted in memory), then one whose key is too big for the file
      // (in the primary key's index: SQLite rolls back the whole transaction, not just the statement).
      const results = await Promise.allSettled([store.insertRollout(rollout('r1')), store.insertRollout(rollout('y'.repeat(64 * 1024)))]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
      await sql.raw('pragma max_page_count = 1073741823').execute(store.db);
      expect(await store.getRollout(job.id, 'r1')).toBeNull();
      expect(await store.insertRollout(rollout('r2'))).toBe(true);
      // r0 and r2: the rolled-back r1 is neither a row nor a count.
      expect((await store.getJob(job.id))?.rolloutCount).toBe(2);
    } finally {
      await store.close();
    }
  });
});
