import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateTo } from '../../src/store/migrations.js';
import { openOldDatabase } from '../helpers/oldDatabase.js';
import { seedJobBody } from '../helpers/server.js';

/**
 * Migration 0011 looks for repeated bootstrap seeds and (candidate, val seed) pairs. Each val
 * rollout's search read every rollout of its job, so a database of a build before 0011 with a long
 * job took minutes to migrate (2,295 val rollouts in a job of 430,000: 2 min 40 s), with every
 * instance's start waiting on it. 2,000 val rollouts in a job of 60,000 took about 20 s; with an index
 * on what the searches compare it takes well under a second. SQLite only: PostgreSQL's planner does not
 * search per rollout (the 430,000-rollout database migrated in 12 s there).
 */
describe('migration 0011_cluster_races on a long job (sqlite)', () => {
  it('finds the repeats without reading the job once per val rollout', async () => {
    const db = await openOldDatabase('sqlite', 'races_scale', '0010_demos');
    const config = JSON.stringify(seedJobBody({ initialPrompt: 'Answer.' }).policy_optimization);
    const at = '2026-11-01T00:00:00.000Z';
    await sql`insert into tenants (id, name, created_at) values ('ten_old', 'old', ${at})`.execute(db);
    await sql`insert into jobs (id, tenant_id, system_id, status, config, baseline_instruction, correlation_id, metadata, dataset_summary,
        event_seq, proposal_seq, rollout_count, reward_count, rewards_since_proposal, best_candidate_id, created_at, updated_at)
      values ('pl_long', 'ten_old', 'sys_long', 'running', ${config}, 'Answer.', null, '{}', null, 0, 0, 0, 0, 0, 'baseline', ${at}, ${at})`.execute(db);
    await sql`insert into candidates (job_id, id, parent_id, status, instruction, ordinal, dispatches, created_at, instructions)
      values ('pl_long', 'baseline', null, 'active', 'Answer.', 0, 0, ${at}, '{}')`.execute(db);
    await sql`with recursive k(n) as (select 1 union all select n + 1 from k where n < 60000)
      insert into rollouts (job_id, id, candidate_id, seed, split, status, call_count, reward, created_at, updated_at)
      select 'pl_long', 'o' || n, 'baseline', n % 200, 'online', 'completed', 1, 1, ${at}, ${at} from k`.execute(db);
    // 2,000 val rollouts, one of them a repeat of another's (candidate, seed).
    await sql`with recursive k(n) as (select 1 union all select n + 1 from k where n < 2000)
      insert into rollouts (job_id, id, candidate_id, seed, split, status, call_count, reward, created_at, updated_at)
      select 'pl_long', 'v' || n, 'baseline', case when n = 2000 then 1 else n end, 'val', 'completed', 1, 1, ${at}, ${at} from k`.execute(db);

    const started = performance.now();
    await migrateTo(db, 'sqlite', '0011_cluster_races');
    const seconds = (performance.now() - started) / 1000;

    // Generous: the old search took 15 s here on an idle machine (and longer under load), this one 0.7 s.
    expect(seconds).toBeLessThan(10);
    const repeats = await sql<{ id: string; seed: number | null }>`select id, seed from rollouts where id in ('v1', 'v2000') order by id`.execute(db);
    expect(repeats.rows).toEqual([{ id: 'v1', seed: 1 }, { id: 'v2000', seed: null }]);
    const lookup = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and name like '%m0011%'`.execute(db);
    expect(lookup.rows).toEqual([]);
    await db.destroy();
  }, 120_000);
});
