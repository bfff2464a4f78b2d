import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import type { NewEvent, Store } from '../../src/store/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { waitFor } from '../helpers/waitFor.js';
import { MAX_UNMATCHED_EVENTS } from '../../src/store/programQueries.js';
import { runStoreContract, sampleConfig } from './storeContract.js';

const schema = uniqueSchema('contract');
runStoreContract('postgres', () => openPostgresStore(PG_URL, schema, systemClock), () => dropPostgresSchema(PG_URL, schema));

/**
 * Two instances' stores on one new schema for the describe block (opened before its tests, closed
 * and the schema dropped after), handed to `ready`; returns the schema's name.
 */
function useTwoInstances(prefix: string, ready: (s: { a: Store; b: Store }) => void): string {
  const shared = uniqueSchema(prefix);
  let a: Store | undefined;
  let b: Store | undefined;
  beforeAll(async () => {
    a = await openPostgresStore(PG_URL, shared, systemClock);
    b = await openPostgresStore(PG_URL, shared, systemClock);
    ready({ a, b });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropPostgresSchema(PG_URL, shared);
  });
  return shared;
}

/** A new tenant's one-module job. */
async function newJob(store: Store) {
  const tenant = await store.createTenant('t');
  return store.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });
}

/**
 * Two instances on one schema claim the same new rollout ids at the same moment (a client's
 * parallel calls through a load balancer), each with the candidate its own bandit chose: one insert
 * wins, and both end with the winner's candidate.
 */
describe('claimRollout across two instances on one PostgreSQL schema', () => {
  let a: Store;
  let b: Store;
  const shared = useTwoInstances('claimrace', (s) => ({ a, b } = s));

  it('gives each raced id one insert and one candidate on both sides, counters equal to the rows', async () => {
    const job = await newJob(a);
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

/**
 * Two instances each see a new unmatched text while the job has 99: each transaction counted the
 * texts without the other's (not yet committed), so both wrote an ordinary event and none the last
 * one, and the cap of MAX_UNMATCHED_EVENTS + 1 events per job no longer held.
 */
describe('unmatched events across two instances on one PostgreSQL schema', () => {
  let a: Store;
  let b: Store;
  const shared = useTwoInstances('unmatchedrace', (s) => ({ a, b } = s));

  it('writes the cap\'s events and one last_reported, however the texts race', async () => {
    const job = await newJob(a);
    const event: NewEvent = { eventType: 'mipro.module.unmatched', message: 'unmatched', data: { reason: 'no_match' } };
    for (let i = 0; i < MAX_UNMATCHED_EVENTS - 1; i++) await a.recordUnmatched(job.id, `h${i}`, event);
    const other = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${shared}` });
    const watcher = new pg.Client({ connectionString: PG_URL });
    await Promise.all([other.connect(), watcher.connect()]);
    try {
      // The job row held elsewhere (as an event's update holds it), so the four transactions are all open at once.
      await other.query('begin');
      await other.query('select 1 from jobs where id = $1 for no key update', [job.id]);
      const holder = Number((await other.query('select pg_backend_pid() as pid')).rows[0].pid);
      const raced = ['x0', 'x1', 'x2', 'x3'].map((h, i) => (i % 2 === 0 ? a : b).recordUnmatched(job.id, h, event));
      // Waiting on the holder, or in line behind a transaction that waits on it (a row lock's queue).
      const waiting = async () => {
        const rows = (await watcher.query('select pid, pg_blocking_pids(pid) as by from pg_stat_activity')).rows as { pid: number; by: number[] }[];
        const behind = new Set([holder]);
        for (let grew = true; grew;) {
          grew = false;
          for (const r of rows) if (!behind.has(r.pid) && r.by.some((p) => behind.has(p))) grew = Boolean(behind.add(r.pid));
        }
        return behind.size - 1;
      };
      await waitFor(async () => (await waiting()) === 4);
      await other.query('commit');
      expect(await Promise.all(raced)).toEqual([true, true, true, true]);
    } finally {
      await Promise.all([other.end(), watcher.end()]);
    }
    const events = (await a.listEvents(job.id, 0, 1000)).filter((e) => e.eventType === 'mipro.module.unmatched');
    expect(events.filter((e) => e.data.last_reported !== true)).toHaveLength(MAX_UNMATCHED_EVENTS);
    expect(events.filter((e) => e.data.last_reported === true)).toHaveLength(1);
    expect(await a.unmatchedPromptCount(job.id)).toBe(MAX_UNMATCHED_EVENTS + 3);
  });
});

/**
 * Every writer of a job's rows locks the job row first (kyselyStore lockJobs): flagMissingRewards
 * locked the candidate row first and the job row after (its event), the reverse of the reward batch,
 * which locks the job and then updates its candidates' statistics. Both at once deadlocked, and
 * PostgreSQL aborted one of them (a reward lost its batch, or the flag its event).
 */
describe('flagMissingRewards takes the job row before the candidate row (PostgreSQL)', () => {
  let a: Store;
  const shared = useTwoInstances('flaglock', (s) => ({ a } = s));

  it('waits for the job row holding no candidate lock, so a reward writer holding the job never deadlocks with it', async () => {
    const job = await newJob(a);
    const rewards = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${shared}"` });
    await rewards.connect();
    try {
      // As the reward batch does: the job row first, then (below) its candidate's statistics.
      await rewards.query('begin');
      await rewards.query("set local lock_timeout = '3s'");
      await rewards.query('select 1 from jobs where id = $1 for update', [job.id]);
      const event: NewEvent = { eventType: 'mipro.candidate.missing_rewards', message: 'x', data: {} };
      const flag = a.flagMissingRewards(job.id, BASELINE_ID, event).catch((err: unknown) => err);
      await new Promise((r) => setTimeout(r, 300)); // the flag is now waiting on a lock
      await rewards.query('update candidates set online_n = online_n + 1 where job_id = $1 and id = $2', [job.id, BASELINE_ID]);
      await rewards.query('commit');
      expect(await flag).toBe(true);
    } finally {
      await rewards.end();
    }
  });
});
