import { type Kysely, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import type { Dialect } from '../../src/store/migrations.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { openSqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import type { KyselyStore } from '../../src/store/kyselyStore.js';
import { openOldDatabase } from '../helpers/oldDatabase.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { seedJobBody } from '../helpers/server.js';

const at = (s: number) => `2026-11-01T00:00:${String(s).padStart(2, '0')}.000Z`;

/**
 * A migration that fails half-way (a full disk, an I/O error, a killed process) must leave nothing
 * of itself behind: the next start applies it whole. Applied statement by statement instead, its
 * first statements stay and the retry fails on them ("index ... already exists"), so the server no
 * longer starts on that database until someone repairs it by hand. The failure is injected with a
 * trigger that refuses the migration's last statement (0011 recomputes the jobs' counters last).
 */
describe.each<Dialect>(['sqlite', 'postgres'])('a migration that fails half-way (%s)', (dialect) => {
  const schema = uniqueSchema('atomic');
  afterAll(async () => {
    if (dialect === 'postgres') await dropPostgresSchema(PG_URL, schema);
  });

  it('leaves nothing behind, and the next start applies it whole', async () => {
    const old = await openOldDatabase(dialect, schema, '0010_demos');
    let path = '';
    if (dialect === 'sqlite') {
      const files = await sql<{ file: string }>`pragma database_list`.execute(old);
      path = files.rows[0]!.file;
    }
    const config = JSON.stringify(seedJobBody({ initialPrompt: 'Answer.' }).policy_optimization);
    await sql`insert into tenants (id, name, created_at) values ('ten_old', 'old', ${at(0)})`.execute(old);
    await sql`insert into jobs (id, tenant_id, system_id, status, config, baseline_instruction, correlation_id, metadata, dataset_summary,
        event_seq, proposal_seq, rollout_count, reward_count, rewards_since_proposal, best_candidate_id, created_at, updated_at)
      values ('pl_old', 'ten_old', 'sys_old', 'running', ${config}, 'Answer.', null, '{}', null, 0, 0, 2, 0, 0, 'baseline', ${at(0)}, ${at(0)})`.execute(old);
    await sql`insert into candidates (job_id, id, parent_id, status, instruction, ordinal, created_at, instructions)
      values ('pl_old', 'baseline', null, 'active', 'Answer.', 0, ${at(0)}, '{}')`.execute(old);
    // Bootstrap seed 0 issued twice by racing instances: 0011 moves the later one to online.
    for (const [i, id] of ['b1', 'b2'].entries()) {
      await sql`insert into rollouts (job_id, id, candidate_id, seed, split, status, call_count, created_at, updated_at)
        values ('pl_old', ${id}, 'baseline', 0, 'bootstrap', 'completed', 1, ${at(i + 1)}, ${at(i + 1)})`.execute(old);
    }
    if (dialect === 'sqlite') {
      await sql`create trigger injected_failure before update on jobs begin select raise(abort, 'injected failure'); end`.execute(old);
    } else {
      await sql`create function injected_failure() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(old);
      await sql`create trigger injected_failure before update on jobs for each row execute function injected_failure()`.execute(old);
    }

    const open = (): Promise<KyselyStore> => dialect === 'sqlite' ? openSqliteStore(path, systemClock) : openPostgresStore(PG_URL, schema, systemClock);
    await expect(open()).rejects.toThrow(/injected failure/);
    // Nothing of 0011 stayed: not its data changes, not its indexes, not its record.
    const split = await sql<{ split: string }>`select split from rollouts where id = 'b2'`.execute(old);
    expect(split.rows[0]!.split).toBe('bootstrap');
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(old);
    expect(applied.rows.map((r) => r.name)).not.toContain('0011_cluster_races');

    // The cause goes away: the next start migrates.
    if (dialect === 'sqlite') await sql`drop trigger injected_failure`.execute(old);
    else await sql`drop trigger injected_failure on jobs`.execute(old);
    await old.destroy();
    const store = await open();
    try {
      const db = store.db as Kysely<unknown>;
      const rows = await sql<{ id: string; split: string }>`select id, split from rollouts order by id`.execute(db);
      expect(rows.rows.map((r) => [r.id, r.split])).toEqual([['b1', 'bootstrap'], ['b2', 'online']]);
      const names = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
      expect(names.rows.map((r) => r.name)).toContain('0012_call_tool_calls');
    } finally {
      await store.close();
    }
  });
});
