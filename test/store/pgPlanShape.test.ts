import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { WRITE_ROLLOUTS_AND_CALLS } from '../../src/store/postgres/pgBatchSql.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

const WRITE_TYPES = 'text[], text[], text[], int[], text[], text[], text[], text[], text[], text[], text[], text[], float8[], text[], text[], text[], text[], text[], int[], int8[], int8[], int8[], int8[]';

/**
 * The hot-path write statement is prepared once per connection and runs on a generic plan, made
 * when the tables may still be empty (a new deployment) and kept until they are analyzed. That plan
 * must reach rollout rows by their primary key: a scan of rollouts, or of `rollouts_job_created` by
 * job id alone, costs every batch a read of the job's whole history (measured: 1 ms per batch on an
 * empty table, 12 ms after 21,000 rollouts; docs/benchmarks.md, issue 18).
 */
describe('PostgreSQL hot-path write statement: plan shape on an unanalyzed table', () => {
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
    await client.query('set plan_cache_mode = force_generic_plan');
    await client.query(`prepare write_batch(${WRITE_TYPES}) as ${WRITE_ROLLOUTS_AND_CALLS}`);
    const empty = Array.from({ length: 23 }, () => `'{}'`).join(', ');
    const plan = (await client.query<{ 'QUERY PLAN': string }>(`explain execute write_batch(${empty})`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    const rolloutScans = plan.split('\n').filter((line) => /Scan\b.* on rollouts\b|Scan using rollouts_/.test(line));
    expect(rolloutScans).toEqual([]);
    expect(plan).toMatch(/Conflict Arbiter Indexes: rollouts_pk/);
  });
});
