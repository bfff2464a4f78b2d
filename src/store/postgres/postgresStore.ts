import { Kysely } from 'kysely';
import pg from 'pg';
import type { Clock } from '../../shared/clock.js';
import { KyselyStore } from '../kyselyStore.js';
import { migrateToLatest } from '../migrations.js';
import { PgHotPath } from './pgHotPath.js';
import { ownSchemaPostgresDialect } from './ownSchemaDialect.js';
import { armQueryDeadline, type QueryDeadline } from './queryDeadline.js';
import type { Database } from '../schema.js';

/**
 * PostgreSQL for shared deployments: several miprox instances on one database. `schema` puts every
 * table in its own namespace (tests run each suite in a fresh schema so runs never collide).
 */
export async function openPostgresStore(
  url: string,
  schema: string,
  clock: Clock,
  opts: { poolSize?: number; onConnectionError?: (err: Error) => void; queryTimeoutMs?: number } = {},
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
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    // idle_in_transaction_session_timeout: a transaction whose instance stopped between two of its
    // statements (SIGSTOP, a paused VM, a wedged process: its connection stays open) would hold the
    // job's row lock for as long as it is stopped, and every other instance's writes to the job wait
    // on it (their /readyz then says down: the whole cluster out for one stopped instance). No
    // transaction here pauses between statements for more than the event loop's turn, so ending one
    // idle that long costs a retry at worst. Set with search_path, not as its own startup parameter,
    // so what a pooler in between must pass is unchanged (docs/deploy.md, PgBouncer).
    options: `-c search_path="${schema}" -c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
    // Without a connect deadline a black-holed database hangs every request (and /readyz) forever.
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    // Finds a silently dropped TCP link instead of waiting on it.
    keepAlive: true,
  });
  watchConnectionErrors(pool, opts.onConnectionError ?? (() => {}));
  const deadline: QueryDeadline = { ms: null };
  pool.on('connect', (client) => armQueryDeadline(client, deadline));
  const db = new Kysely<Database>({ dialect: ownSchemaPostgresDialect({ pool }, schema) });
  await migrateToLatest(db as Kysely<unknown>, 'postgres', schema);
  // Not during migrations: they may wait on another instance's migration lock for as long as it takes.
  deadline.ms = opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  // The hot path runs on the same pool, as one prepared multi-row statement per batch (pgHotPath.ts).
  return new KyselyStore(db, 'postgres', clock, { hot: new PgHotPath(pool) });
}

const CONNECT_TIMEOUT_MS = 5000;
/**
 * How long a transaction may sit idle between its statements before PostgreSQL ends it (and its
 * connection), releasing its locks. Kept under the 5 s after which a waiting write says `down` on /readyz.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 4000;
/** Longer than any statement miprox sends takes on a healthy database (DATABASE_QUERY_TIMEOUT_MS). */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/**
 * A pooled connection that dies (pg_terminate_backend, a database restart, a dropped TCP link)
 * emits 'error'. An EventEmitter 'error' nobody listens to kills the process, so both places it
 * can surface are heard: the pool (for idle clients) and each client (while checked out, when the
 * pool's own listener is detached). The failed queries reject on their own and the pool discards
 * the dead client; the next query opens a fresh connection.
 */
function watchConnectionErrors(pool: pg.Pool, report: (err: Error) => void): void {
  // An idle client's error reaches both listeners (pg-pool's own listener on the client re-emits it
  // on the pool), so it is reported once. pg-pool also hangs the whole client on it (`err.client`),
  // which a logger prints in full: ~17 KB of driver internals per line (every prepared statement's
  // SQL, the backend's cancel key), once per pooled connection at each database restart. It is
  // removed whichever listener runs last (the client's runs first, before pg-pool adds it).
  const reported = new WeakSet<Error>();
  const once = (err: Error): void => {
    delete (err as Error & { client?: unknown }).client;
    if (reported.has(err)) return;
    reported.add(err);
    report(err);
  };
  pool.on('error', once);
  pool.on('connect', (client) => {
    client.on('error', once);
  });
}

/**
 * Whether `schema` already holds a miprox database (its migration table), without creating anything:
 * commands that only read or change what is there (`keys list`, `keys revoke`) must not migrate a
 * mistyped DATABASE_SCHEMA into a new empty one.
 */
export async function postgresSchemaHoldsMiprox(url: string, schema: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await c.connect();
  try {
    const res = await c.query<{ t: string | null }>('select to_regclass($1)::text as t', [`"${schema}".kysely_migration`]);
    return res.rows[0]?.t != null;
  } finally {
    await c.end();
  }
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
