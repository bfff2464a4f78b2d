import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dialect, migrateTo } from '../../src/store/migrations.js';
import { legacyRange } from '../../src/store/migrationsRewards.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { openOldDatabase } from '../helpers/oldDatabase.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { seedJobBody } from '../helpers/server.js';

const NOW = '2026-11-01T00:00:00.000Z';

describe('legacyRange', () => {
  it.each([
    [undefined, [0, 1]],
    [[0, 1], [0, 1]],
    [[0.2, 0.7], [0, 1]],
    [[1, 5], [0.6, 5.4]],
    [[-1, 1], [-1.2, 1.2]],
    [[3, 3], [2, 4]], // one observed value: a margin of at least 1
    [[0, 1e6], [-1e5, 1e6]], // capped at the reward cap
  ] as const)('observed %j -> %j', (observed, expected) => {
    const [lo, hi] = legacyRange(observed);
    expect(lo).toBeCloseTo(expected[0], 9);
    expect(hi).toBeCloseTo(expected[1], 9);
  });
});

/** Jobs stored before reward_range existed get one from their rewards (docs/API.md), on both databases. */
describe.each<Dialect>(['sqlite', 'postgres'])('migration 0006_reward_range (%s)', (dialect) => {
  let db: Kysely<unknown>;
  const schema = uniqueSchema('rr');
  beforeAll(async () => {
    const pgSchema = dialect === 'postgres' ? schema : undefined;
    db = await openOldDatabase(dialect, schema, '0004_served_candidate');
    const config = (mipro: Record<string, unknown> = {}) => JSON.stringify(seedJobBody({ initialPrompt: 'Answer.', mipro }).policy_optimization);
    await sql`insert into tenants (id, name, created_at) values ('ten_old', 'old', ${NOW})`.execute(db);
    const jobs: [string, string][] = [['pl_unit', config()], ['pl_scale', config()], ['pl_none', config()], ['pl_declared', config({ reward_range: [0, 10] })]];
    for (const [id, c] of jobs) {
      await sql`insert into jobs (id, tenant_id, system_id, status, config, baseline_instruction, correlation_id, metadata, dataset_summary,
          event_seq, proposal_seq, rollout_count, reward_count, rewards_since_proposal, best_candidate_id, created_at, updated_at)
        values (${id}, 'ten_old', ${`sys_${id}`}, 'running', ${c}, 'Answer.', null, '{}', null, 0, 0, 0, 0, 0, 'baseline', ${NOW}, ${NOW})`.execute(db);
    }
    const rewards: [string, number][] = [['pl_unit', 0], ['pl_unit', 1], ['pl_unit', 0.5], ['pl_scale', 1], ['pl_scale', 5], ['pl_scale', 3], ['pl_declared', 7]];
    for (const [i, [job, reward]] of rewards.entries()) {
      await sql`insert into rewards (job_id, rollout_id, candidate_id, reward, split, seed, metadata, created_at)
        values (${job}, ${`r${i}`}, 'baseline', ${reward}, 'online', null, null, ${NOW})`.execute(db);
    }
    await migrateTo(db, dialect, '0006_reward_range', pgSchema);
  });
  afterAll(async () => {
    await db.destroy();
    if (dialect === 'postgres') await dropPostgresSchema(PG_URL, schema);
  });

  it('writes [0, 1] or the widened observed range into each older config, and keeps a declared one', async () => {
    const rows = await sql<{ id: string; config: string }>`select id, config from jobs order by id`.execute(db);
    const ranges = Object.fromEntries(rows.rows.map((r) => [r.id, (JSON.parse(r.config) as { mipro: { reward_range: number[] } }).mipro.reward_range]));
    expect(ranges).toEqual({ pl_declared: [0, 10], pl_none: [0, 1], pl_scale: [0.6, 5.4], pl_unit: [0, 1] });
  });
});
