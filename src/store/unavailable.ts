import { performance } from 'node:perf_hooks';
import { DatabaseUnavailableError, JobGoneError } from '../shared/errors.js';
import type { Store } from './types.js';
import { MIPROX_TABLES } from './schema.js';

/**
 * Failures that say "the database cannot be reached right now", not "this request is wrong": a
 * dropped or terminated connection, a refused or timed-out connect, a server shutting down, a full
 * or failing disk, a lock held too long. They become DatabaseUnavailableError (503, retry later)
 * instead of a 500, so clients and load balancers treat them as transient.
 */
const PG_UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
];
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|CANTOPEN|READONLY|NOMEM)/;

/** miprox's tables and the migrator's own (kysely_migration, the first /readyz reads). */
const OWN_TABLES = new Set([...MIPROX_TABLES, 'kysely_migration', 'kysely_migration_lock']);
const SQLITE_NO_SUCH_TABLE = /^no such table: (?:main\.)?(\w+)$/;

/**
 * The tables are gone under the server: PostgreSQL's 42P01 undefined_table (the schema was dropped,
 * or a `pg_restore --clean` is under way), SQLite's "no such table" (another process dropped them
 * from the file, or emptied it). Not the request's fault, and over once the tables are back:
 * unavailable, like a SQLite file deleted under the server, not a 500. On SQLite only for a table
 * miprox creates: SQLITE_ERROR is also every malformed statement, and a statement naming a table
 * that never existed is a bug, which stays a 500.
 */
export function isTablesMissing(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code === '42P01') return true;
  if (code !== 'SQLITE_ERROR') return false;
  const table = SQLITE_NO_SUCH_TABLE.exec(err.message)?.[1];
  return table !== undefined && OWN_TABLES.has(table);
}

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (isTablesMissing(err)) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    // SQLSTATE class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect
    // now), 53300 (too many connections), 53100 (disk full).
    if (/^08...$/.test(code) || /^57P0[1-3]$/.test(code) || code === '53300' || code === '53100') return true;
    // A new connection refused at login while the server runs (class 28: the password rotated before
    // DATABASE_URL was, the role disabled; 3D000: the database renamed or dropped): every request
    // needing a connection was a 500. The start itself reports these through databaseOpenError.
    if (/^28...$/.test(code) || code === '3D000') return true;
    // 25006: the database takes reads but refuses writes (the address leads to a standby after a
    // failover, or it was made read-only): every write was a 500.
    if (code === '25006') return true;
    // 25P03: the database ended a transaction left idle too long (postgresStore.ts
    // IDLE_IN_TRANSACTION_TIMEOUT_MS): this process stalled mid-transaction; nothing of it committed.
    if (code === '25P03') return true;
    if (NETWORK_CODES.has(code) || SQLITE_UNAVAILABLE.test(code)) return true;
  }
  return PG_UNAVAILABLE_MESSAGES.some((m) => err.message.startsWith(m));
}

/**
 * A connection the pool already held died under the statement (its backend was terminated, the
 * server restarted, the link reset): the pool discards it and a retry takes another one, unlike a
 * refused or timed-out connect, which says the database itself cannot be reached.
 */
export function isPooledConnectionLost(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code === '57P01' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  // pg-pool's connect deadline reads "Connection terminated due to connection timeout": the outage itself.
  if (err.message.startsWith('Connection terminated due to connection timeout')) return false;
  return err.message.startsWith('Connection terminated') || err.message.startsWith('Client has encountered a connection error');
}

/**
 * Faults of the storage itself (disk full, I/O error, read-only file, a PostgreSQL refusing writes):
 * unlike a lost connection, the readiness round trip (a read) does not see them, so /readyz asks when
 * the last one happened (PostgreSQL's read-only state it also asks directly: KyselyStore.ping).
 */
const STORAGE_FAULT = /^(SQLITE_(FULL|IOERR|READONLY)|53100|58030|25006)/;

export interface StorageHealth {
  /**
   * performance.now() of the last storage fault a store call met (elapsed time, which a step of the
   * machine's clock does not move); null when none.
   */
  lastFaultAt: number | null;
  lastFault: string | null;
}

const healthOf = new WeakMap<object, StorageHealth>();

/** The storage health of a guarded store (null for one that is not guarded). */
export function storageHealth(store: Store): StorageHealth | null {
  return healthOf.get(store) ?? null;
}

/**
 * A foreign-key violation: every foreign key of a job's rows names the job (api_keys' names a
 * tenant, and tenants are never deleted), so it means a write for a job whose row the deletion
 * already removed (store/jobPurge.ts). The database refused it; nothing was stored.
 */
export function isJobGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

function translate(err: unknown, health: StorageHealth): never {
  if (isJobGone(err)) throw new JobGoneError();
  if (isDatabaseUnavailable(err)) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && STORAGE_FAULT.test(code)) {
      health.lastFaultAt = performance.now();
      health.lastFault = `${code}: ${(err as Error).message}`;
    }
    throw new DatabaseUnavailableError('the database is unavailable; retry shortly', { cause: err });
  }
  throw err;
}

/**
 * Wraps every Store method so an outage surfaces as one typed error wherever it happens (routes,
 * the engine's background writes). The wrapped functions are built once per method, and a
 * successful call costs one extra promise reaction. They are kept by the method itself, not by its
 * name: a method replaced on the store since (a test's wrapper) is the one called, not the first one
 * read under that name.
 */
export function guardStore<S extends Store>(store: S): S {
  const wrapped = new WeakMap<object, unknown>();
  const health: StorageHealth = { lastFaultAt: null, lastFault: null };
  const onError = (err: unknown): never => translate(err, health);
  const guarded = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(value);
      if (!fn) {
        const method = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]): unknown => {
          let result: unknown;
          try {
            result = method.apply(target, args);
          } catch (err) {
            onError(err);
          }
          return result instanceof Promise ? result.catch(onError) : result;
        };
        wrapped.set(value, fn);
      }
      return fn;
    },
  });
  healthOf.set(guarded, health);
  return guarded;
}
