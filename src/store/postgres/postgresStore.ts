import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Clock } from '../../shared/clock.js';
import { KyselyStore } from '../kyselyStore.js';
import { migrateToLatest } from '../migrations.js';
import type { Database } from '../schema.js';

/**
 * PostgreSQL for shared deployments: several miprox instances on one database. `schema` puts every
 * table in its own namespace (tests run each suite in a fresh schema so runs never collide).
 */
export async function openPostgresStore(url: string, schema: string, clock: Clock, poolSize = 10): Promise<KyselyStore> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  try {
    try {
      await setup.query(`create schema if not exists "${schema}"`);
    } catch (err) {
      // "if not exists" is not atomic: instances starting together can both try to create it.
      const exists = await setup.query('select 1 from pg_namespace where nspname = $1', [schema]);
      if (exists.rowCount === 0) throw err;
    }
  } finally {
    await setup.end();
  }
  const pool = new pg.Pool({ connectionString: url, max: poolSize, options: `-c search_path="${schema}"` });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrateToLatest(db as Kysely<unknown>, 'postgres', schema);
  return new KyselyStore(db, 'postgres', clock);
}

/** Drops a schema and everything in it (tests clean up after themselves). */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await c.end();
  }
}
