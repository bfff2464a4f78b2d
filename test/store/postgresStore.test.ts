import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import type { Store } from '../../src/store/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { waitFor } from '../helpers/waitFor.js';
import { runStoreContract, sampleConfig } from './storeContract.js';

const schema = uniqueSchema('contract');
runStoreContract('postgres', () => openPostgresStore(PG_URL, schema, systemClock), () => dropPostgresSchema(PG_URL, schema));

/**
 * Two instances on one schema claim the same new rollout ids at the same moment (a client's
 * parallel calls through a load balancer), each with the candidate its own bandit chose: one insert
 * wins, and both end with the winner's candidate.
 */
describe('claimRollout across two instances on one PostgreSQL schema', () => {
  const shared = uniqueSchema('claimrace');
  let a: Store;
  let b: Store;
  beforeAll(async () => {
    a = await openPostgresStore(PG_URL, shared, systemClock);
    b = await openPostgresStore(PG_URL, shared, systemClock);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropPostgresSchema(PG_URL, shared);
  });

  it('gives each raced id one insert and one candidate on both sides, counters equal to the rows', async () => {
    const tenant = await a.createTenant('t');
    const job = await a.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });
    await a.addCandidate(job.id, { id: 'cand_b', parentId: BASELINE_ID, instruction: 'b', module: 'main', instructions: { main: 'b' }, tip: null, proposalId: null }, 20);
    const claim = (store: Store, id: string, candidateId: string) =>
      store.claimRollout({ jobId: job.id, id, candidateId, seed: null, split: 'online', correlationId: null, inputMessages: null });
    const ids = Array.from({ length: 60 }, (_, i) => `race${i}`);
    // A few ids per turn, so the two instances' batches overlap in every order.
    const outcomes = await Promise.all(ids.map(async (id, i) => {
      await new Promise((r) => setTimeout(r, i % 7));
      const [fromA, fromB] = await Promise.all([claim(a, id, BASELINE_ID), claim(b, id, 'cand_b')]);
      return { id, fromA, fromB };
    }));
    for (const { id, fromA, fromB } of outcomes) {
      expect([fromA, fromB].filter((x) => x === null), id).toHaveLength(1);
      const servedA = fromA?.candidateId ?? BASELINE_ID;
      const servedB = fromB?.candidateId ?? 'cand_b';
      expect(servedA, id).toBe(servedB);
      expect((await b.getRollout(job.id, id))?.candidateId, id).toBe(servedA);
    }
    const wonByA = outcomes.filter((o) => o.fromA === null).length;
    expect((await a.getJob(job.id))?.rolloutCount).toBe(ids.length);
    expect((await a.getCandidate(job.id, BASELINE_ID))?.dispatches).toBe(wonByA);
    expect((await a.getCandidate(job.id, 'cand_b'))?.dispatches).toBe(ids.length - wonByA);

    // The narrow case: the id is committed elsewhere after the claim's statement took its snapshot
    // (here while it waits for the job row), so its insert conflicts with a row it cannot see.
    const other = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${shared}` });
    const watcher = new pg.Client({ connectionString: PG_URL });
    await Promise.all([other.connect(), watcher.connect()]);
    try {
      await other.query('begin');
      await other.query('select 1 from jobs where id = $1 for update', [job.id]);
      const holder = Number((await other.query('select pg_backend_pid() as pid')).rows[0].pid);
      const late = claim(a, 'late', BASELINE_ID);
      // The claim's statement now waits for the job row: a backend blocked by this transaction (read
      // outside it, where pg_stat_activity is not a snapshot), however long it took to get there.
      await waitFor(async () => Number((await watcher.query('select count(*) as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [holder])).rows[0].n) > 0);
      await other.query(`insert into rollouts (job_id, id, candidate_id, seed, split, correlation_id, status, input_messages, output_text,
        latency_ms, usage, call_count, reward, created_at, updated_at)
        values ($1, 'late', 'cand_b', 4, 'online', null, 'dispatched', null, null, null, null, 0, null, $2, $2)`, [job.id, new Date().toISOString()]);
      await other.query('commit');
      expect(await late).toEqual({ candidateId: 'cand_b', split: 'online', seed: 4 });
    } finally {
      await Promise.all([other.end(), watcher.end()]);
    }
  });
});
