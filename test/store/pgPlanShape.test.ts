import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { GET_ROLLOUTS, RECORD_REWARDS, WRITE_ROLLOUTS_AND_CALLS } from '../../src/store/postgres/pgBatchSql.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { meanCallPositionQuery } from '../../src/store/programQueries.js';

const WRITE_TYPES = 'text[], text[], text[], int[], text[], text[], text[], text[], text[], text[], text[], text[], float8[], text[], text[], text[], text[], text[], int[], int8[], int8[], int8[], int8[], int[], int[]';
const REWARD_TYPES = 'text[], text[], text[], float8[], text[], int[], text[], text[], text[], text[], text[], text[], text[], bool[], int[]';

/** The generic plan of a statement on the (empty, unanalyzed) schema, and the lines of it that scan rollouts. */
async function genericPlan(client: pg.Client, name: string, types: string, text: string): Promise<{ plan: string; rolloutScans: string[] }> {
  await client.query('set plan_cache_mode = force_generic_plan');
  await client.query(`prepare ${name}(${types}) as ${text}`);
  const empty = types.split(',').map(() => `'{}'`).join(', ');
  const plan = (await client.query<{ 'QUERY PLAN': string }>(`explain execute ${name}(${empty})`)).rows.map((r) => r['QUERY PLAN']).join('\n');
  return { plan, rolloutScans: plan.split('\n').filter((line) => /Scan\b.* on rollouts\b|Scan using rollouts_/.test(line)) };
}

/**
 * The hot-path write statement is prepared once per connection and runs on a generic plan, made
 * when the tables may still be empty (a new deployment) and kept until they are analyzed. That plan
 * must reach rollout rows by their primary key: a scan of rollouts, or of `rollouts_job_created` by
 * job id alone, costs every batch a read of the job's whole history (measured: 1 ms per batch on an
 * empty table, 12 ms after 21,000 rollouts; docs/benchmarks.md, issue 18).
 */
describe('PostgreSQL hot-path statements: plan shape on an unanalyzed table', () => {
  const schema = uniqueSchema('planshape');
  let client: pg.Client;
  beforeAll(async () => {
    const store = await openPostgresStore(PG_URL, schema, systemClock);
    await store.close();
    client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await dropPostgresSchema(PG_URL, schema);
  });

  it('never scans rollouts: existing rows are reached through the primary key', async () => {
    const { plan, rolloutScans } = await genericPlan(client, 'write_batch', WRITE_TYPES, WRITE_ROLLOUTS_AND_CALLS);
    expect(rolloutScans).toEqual([]);
    expect(plan).toMatch(/Conflict Arbiter Indexes: rollouts_pk/);
  });

  it('the reward statement reaches the rewarded rollout through the primary key too', async () => {
    // Its UPDATE ... FROM probed rollouts_job_created by job id alone here: every reward read all of
    // the job's rollouts until the table's first analyze.
    const { plan, rolloutScans } = await genericPlan(client, 'reward_batch', REWARD_TYPES, RECORD_REWARDS);
    expect(rolloutScans).toEqual([]);
    expect(plan).toMatch(/Conflict Arbiter Indexes: rollouts_pk/);
  });

  it('the batched rollout read probes the primary key, never scans the table or reads a job by its id alone', async () => {
    // The plain join's generic plan here was a hash join over a sequential scan of rollouts.
    const { rolloutScans } = await genericPlan(client, 'read_batch', 'text[], text[]', GET_ROLLOUTS);
    expect(rolloutScans).toHaveLength(1);
    expect(rolloutScans[0]).toMatch(/Index Scan using rollouts_pk on rollouts/);
  });
});

/** The order of a program's modules reads each module's newest calls from its index, not the job's every call. */
describe('PostgreSQL: the order of a program\'s modules', () => {
  it('reads a module\'s recent calls backward along rollout_calls_module, index only', async () => {
    const schema = uniqueSchema('callorder');
    const store = await openPostgresStore(PG_URL, schema, systemClock);
    try {
      const q = meanCallPositionQuery(store.db, 'pl_x', 'main').compile();
      const plan = (await store.db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${q.sql}`, [...q.parameters]))).rows.map((r) => r['QUERY PLAN']);
      expect(plan.filter((line) => /rollout_calls/.test(line)), plan.join('\n')).toEqual([expect.stringMatching(/Index Only Scan Backward using rollout_calls_module on rollout_calls/)]);
      expect(plan.filter((line) => /Sort|Seq Scan/.test(line)), plan.join('\n')).toEqual([]);
    } finally {
      await store.close();
      await dropPostgresSchema(PG_URL, schema);
    }
  });
});
