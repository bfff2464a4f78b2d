import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dialect, migrateTo } from '../../src/store/migrations.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { openOldDatabase } from '../helpers/oldDatabase.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { seedJobBody } from '../helpers/server.js';

const at = (s: number) => `2026-11-01T00:00:${String(s).padStart(2, '0')}.000Z`;

/**
 * Data written by instances that raced (issue 18): a bootstrap seed issued twice, a (candidate, val
 * seed) pair issued twice, counters that disagree with the rows. Migration 0011 makes the data fit
 * its unique indexes without deleting a row, and recomputes the counters, on both databases.
 */
describe.each<Dialect>(['sqlite', 'postgres'])('migration 0011_cluster_races (%s)', (dialect) => {
  let db: Kysely<unknown>;
  const schema = uniqueSchema('races');
  beforeAll(async () => {
    const pgSchema = dialect === 'postgres' ? schema : undefined;
    db = await openOldDatabase(dialect, schema, '0008_guard');
    const config = JSON.stringify(seedJobBody({ initialPrompt: 'Answer.' }).policy_optimization);
    await sql`insert into tenants (id, name, created_at) values ('ten_old', 'old', ${at(0)})`.execute(db);
    // Counters deliberately off: 9 rollouts and 5 (non-monitor) rewards are stored below.
    await sql`insert into jobs (id, tenant_id, system_id, status, config, baseline_instruction, correlation_id, metadata, dataset_summary,
        event_seq, proposal_seq, rollout_count, reward_count, rewards_since_proposal, best_candidate_id, created_at, updated_at)
      values ('pl_old', 'ten_old', 'sys_old', 'running', ${config}, 'Answer.', null, '{}', null, 0, 0, 12, 7, 0, 'baseline', ${at(0)}, ${at(0)})`.execute(db);
    for (const [id, ordinal, dispatches, valN] of [['baseline', 0, 2, 0], ['c1', 1, 0, 3]] as const) {
      await sql`insert into candidates (job_id, id, parent_id, status, instruction, ordinal, dispatches, val_n, val_mean, val_m2, created_at, instructions)
        values ('pl_old', ${id}, ${id === 'baseline' ? null : 'baseline'}, 'active', 'Answer.', ${ordinal}, ${dispatches}, ${valN}, 0.6667, 0.6667, ${at(0)}, '{}')`.execute(db);
    }
    const rollouts: [string, string, string, number | null, number | null][] = [
      // id, candidate, split, seed, reward
      ['b1', 'baseline', 'bootstrap', 0, 1], ['b2', 'baseline', 'bootstrap', 0, 0], ['b3', 'baseline', 'bootstrap', 1, null],
      ['v1', 'c1', 'val', 50, 1], ['v2', 'c1', 'val', 50, 0], ['v3', 'c1', 'val', 51, 1], ['v4', 'baseline', 'val', 50, null],
      ['o1', 'c1', 'online', 3, null], ['m1', 'c1', 'monitor', null, 1],
    ];
    for (const [i, [id, cand, split, seed, reward]] of rollouts.entries()) {
      await sql`insert into rollouts (job_id, id, candidate_id, seed, split, status, call_count, reward, created_at, updated_at)
        values ('pl_old', ${id}, ${cand}, ${seed}, ${split}, 'completed', 1, ${reward}, ${at(i + 1)}, ${at(i + 1)})`.execute(db);
      if (reward === null) continue;
      await sql`insert into rewards (job_id, rollout_id, candidate_id, reward, split, seed, metadata, created_at)
        values ('pl_old', ${id}, ${cand}, ${reward}, ${split}, ${seed}, null, ${at(i + 1)})`.execute(db);
    }
    await migrateTo(db, dialect, '0011_cluster_races', pgSchema);
  });
  afterAll(async () => {
    await db.destroy();
    if (dialect === 'postgres') await dropPostgresSchema(PG_URL, schema);
  });

  it('keeps the earliest of each repeated seed, moves the rest out of the way, and keeps every row', async () => {
    const rows = await sql<{ id: string; split: string; seed: number | null }>`select id, split, seed from rollouts order by id`.execute(db);
    const byId = Object.fromEntries(rows.rows.map((r) => [r.id, [r.split, r.seed === null ? null : Number(r.seed)]]));
    expect(byId).toEqual({
      b1: ['bootstrap', 0], b2: ['online', 0], b3: ['bootstrap', 1],
      v1: ['val', 50], v2: ['val', null], v3: ['val', 51], v4: ['val', 50], o1: ['online', 3], m1: ['monitor', null],
    });
    const rewards = await sql<{ rollout_id: string; split: string; seed: number | null }>`select rollout_id, split, seed from rewards order by rollout_id`.execute(db);
    expect(rewards.rows.map((r) => [r.rollout_id, r.split, r.seed === null ? null : Number(r.seed)])).toEqual([
      ['b1', 'bootstrap', 0], ['b2', 'online', 0], ['m1', 'monitor', null], ['v1', 'val', 50], ['v2', 'val', null], ['v3', 'val', 51],
    ]);
  });

  it('recomputes the val statistics without the repeat, and every counter from the rows', async () => {
    const c1 = await sql<{ val_n: number; val_mean: number; val_m2: number; dispatches: number }>`
      select val_n, val_mean, val_m2, dispatches from candidates where job_id = 'pl_old' and id = 'c1'`.execute(db);
    expect(Number(c1.rows[0]!.val_n)).toBe(2); // seeds 50 (first run) and 51: rewards 1 and 1
    expect(Number(c1.rows[0]!.val_mean)).toBe(1);
    expect(Number(c1.rows[0]!.val_m2)).toBe(0);
    expect(Number(c1.rows[0]!.dispatches)).toBe(5);
    const baseline = await sql<{ dispatches: number }>`select dispatches from candidates where id = 'baseline'`.execute(db);
    expect(Number(baseline.rows[0]!.dispatches)).toBe(4);
    const job = await sql<{ rollout_count: number; reward_count: number }>`select rollout_count, reward_count from jobs`.execute(db);
    expect([Number(job.rows[0]!.rollout_count), Number(job.rows[0]!.reward_count)]).toEqual([9, 5]);
  });

  it('refuses a second bootstrap rollout of one seed and a second (candidate, val seed) from now on', async () => {
    const insert = (id: string, cand: string, split: string, seed: number) => sql`insert into rollouts (job_id, id, candidate_id, seed, split, status, call_count, created_at, updated_at)
      values ('pl_old', ${id}, ${cand}, ${seed}, ${split}, 'dispatched', 0, ${at(30)}, ${at(30)}) on conflict do nothing`.execute(db);
    expect(Number((await insert('b9', 'baseline', 'bootstrap', 1)).numAffectedRows)).toBe(0);
    expect(Number((await insert('v9', 'c1', 'val', 51)).numAffectedRows)).toBe(0);
    expect(Number((await insert('v8', 'baseline', 'val', 51)).numAffectedRows)).toBe(1); // another candidate may run it
    expect(Number((await insert('o9', 'baseline', 'online', 1)).numAffectedRows)).toBe(1); // online seeds repeat freely
  });
});
