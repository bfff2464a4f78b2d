import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Clock } from '../../shared/clock.js';
import { KyselyStore } from '../kyselyStore.js';
import { migrateToLatest } from '../migrations.js';
import { PgHotPath } from './pgHotPath.js';
import type { Database } from '../schema.js';

/**
 * PostgreSQL for shared deployments: several miprox instances on one database. `schema` puts every
 * table in its own namespace (tests run each suite in a fresh schema so runs never collide).
 */
export async function openPostgresStore(
  url: string,
  schema: string,
  clock: Clock,
  opts: { poolSize?: number; onConnectionError?: (err: Error) => void } = {},
): Promise<KyselyStore> {
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
  const pool = openPool(url, schema, opts.poolSize ?? 10, []);
  watchConnectionErrors(pool, opts.onConnectionError ?? (() => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrateToLatest(db as Kysely<unknown>, 'postgres', schema);
  // The hot path (pgHotPath.ts) has its own few connections: at most one statement per kind is in
  // flight, so it never queues behind the API's and the optimizer's queries for a connection, and
  // its connections plan the hot statements once. Its statements are prepared, but under the default
  // plan_cache_mode PostgreSQL re-plans them on every execution (the custom plan of unnest() over a
  // known array looks cheaper than the generic one), and planning the CTE chain took about as long
  // as running it (1-1.5 ms per batch on the benchmark machine). The generic plan is the same
  // index lookups whatever the batch holds, so these connections always use it.
  const hotPool = openPool(url, schema, HOT_POOL_SIZE, ['-c plan_cache_mode=force_generic_plan']);
  watchConnectionErrors(hotPool, opts.onConnectionError ?? (() => {}));
  return new KyselyStore(db, 'postgres', clock, { hot: new PgHotPath(hotPool), beforeClose: () => hotPool.end() });
}

/** One statement per kind in flight (4), plus a duplicate reward's two reads. */
const HOT_POOL_SIZE = 6;

function openPool(url: string, schema: string, max: number, settings: string[]): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max,
    options: [`-c search_path="${schema}"`, ...settings].join(' '),
    // Without a connect deadline a black-holed database hangs every request (and /readyz) forever.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Finds a silently dropped TCP link instead of waiting on it.
    keepAlive: true,
  });
}

const CONNECT_TIMEOUT_MS = 5000;

/**
 * A pooled connection that dies (pg_terminate_backend, a database restart, a dropped TCP link)
 * emits 'error'. An EventEmitter 'error' nobody listens to kills the process, so both places it
 * can surface are heard: the pool (for idle clients) and each client (while checked out, when the
 * pool's own listener is detached). The failed queries reject on their own and the pool discards
 * the dead client; the next query opens a fresh connection.
 */
function watchConnectionErrors(pool: pg.Pool, report: (err: Error) => void): void {
  pool.on('error', (err) => report(err));
  pool.on('connect', (client) => {
    client.on('error', (err) => report(err));
  });
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
