import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

/**
 * miprox often shares a PostgreSQL database with other applications, and their migrations change
 * tables while an instance starts. Kysely's migrator lists every schema's columns before migrating,
 * and a column renamed meanwhile failed that read ("column ... of relation ... does not exist"):
 * the instance, or `miprox migrate`, did not start; retries did not save a start on a busy machine.
 * Here another session renames a column in its own schema without pause while stores open on new
 * schemas: they read their own schema's catalog only (ownSchemaDialect.ts).
 */
describe('migrating while another application changes its tables (postgres)', () => {
  const other = uniqueSchema('churn');
  const opened: string[] = [];
  const churner = new pg.Client({ connectionString: PG_URL });
  beforeAll(async () => {
    await churner.connect();
    await churner.query(`create schema "${other}"; create table "${other}".jobs (id serial, created_at text)`);
  });
  afterAll(async () => {
    await churner.end();
    for (const schema of [other, ...opened]) await dropPostgresSchema(PG_URL, schema);
  });

  it('every start migrates', async () => {
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        const [from, to] = i % 2 === 0 ? ['created_at', 'renamed'] : ['renamed', 'created_at'];
        await churner.query(`alter table "${other}".jobs rename column ${from} to ${to}`);
      }
    })();
    const failures: string[] = [];
    try {
      for (let n = 0; n < 12; n++) {
        const schema = uniqueSchema('race');
        opened.push(schema);
        try {
          const store = await openPostgresStore(PG_URL, schema, systemClock);
          await store.close();
        } catch (err) {
          failures.push(String(err));
        }
      }
    } finally {
      churning = false;
      await churn;
    }
    expect(failures).toEqual([]);
  }, 60_000);
});
