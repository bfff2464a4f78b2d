import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import { systemClock } from '../../src/shared/clock.js';
import { openSqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import { sampleConfig } from './storeContract.js';

/**
 * RETENTION_DAYS on SQLite runs on the server's own thread: a pass as one statement per table held
 * every request for as long as it scanned (each pass reads every row, and rows stay when their text
 * goes). It goes in slices with turns of the event loop between them, and still clears every row.
 */
describe('SQLite retention in slices', () => {
  it('clears every old text across slice boundaries and lets the event loop run between slices', async () => {
    const store = await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'miprox-retention-')), 'slices.db'), systemClock);
    try {
      const tenant = await store.createTenant('t');
      const job = await store.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });
      const count = 20_500; // two slices of RETENTION_SLICE_ROWS (10,000) and part of a third
      const old = '2020-01-01T00:00:00.000Z';
      await store.db.transaction().execute(async (trx) => {
        for (let from = 0; from < count; from += 500) {
          const ids = Array.from({ length: Math.min(500, count - from) }, (_, i) => `r${from + i}`);
          await trx.insertInto('rollouts').values(ids.map((id) => ({
            job_id: job.id, id, candidate_id: BASELINE_ID, seed: null, split: 'online', correlation_id: null, status: 'completed',
            input_messages: '[{"role":"user","content":"q"}]', output_text: 'a', latency_ms: 1, usage: null, call_count: 1, reward: 1, created_at: old, updated_at: old,
          }))).execute();
          await trx.insertInto('rollout_calls').values(ids.map((id) => ({
            job_id: job.id, rollout_id: id, seq: 1, module: 'main', input_messages: '[{"role":"user","content":"q"}]', variables: '{}', output_text: 'a',
            latency_ms: 1, usage: null, failed: 0, created_at: old, tool_calls: 0, own_system_text: 0,
          }))).execute();
          await trx.insertInto('rewards').values(ids.map((id) => ({
            job_id: job.id, rollout_id: id, candidate_id: BASELINE_ID, reward: 1, split: 'online', seed: null, metadata: null, created_at: old, feedback: 'fine', feedback_by_module: null,
          }))).execute();
        }
      });
      let ticks = 0;
      let running = true;
      const tick = () => {
        if (!running) return;
        ticks++;
        setImmediate(tick);
      };
      setImmediate(tick);
      const cleared = await store.forgetCallText('2021-01-01T00:00:00.000Z');
      running = false;
      expect(cleared).toBe(count);
      const left = async (table: 'rollouts' | 'rollout_calls') => Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n'))
        .where((eb) => eb.or([eb('input_messages', 'is not', null), eb('output_text', 'is not', null)])).executeTakeFirstOrThrow()).n);
      expect(await left('rollouts')).toBe(0);
      expect(await left('rollout_calls')).toBe(0);
      expect(Number((await store.db.selectFrom('rewards').select((eb) => eb.fn.countAll().as('n')).where('feedback', 'is not', null).executeTakeFirstOrThrow()).n)).toBe(0);
      // Three slices each of rollouts, calls and rewards (and events): the requests got turns between them.
      expect(ticks).toBeGreaterThanOrEqual(6);
    } finally {
      await store.close();
    }
  });
});
