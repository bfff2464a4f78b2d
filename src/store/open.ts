import { sql } from 'kysely';
import type { AppConfig } from '../config/config.js';
import type { Clock } from '../shared/clock.js';
import { openPostgresStore } from './postgres/postgresStore.js';
import { openSqliteStore } from './sqlite/sqliteStore.js';
import type { Store } from './types.js';
import { guardStore } from './unavailable.js';

/**
 * The one place that chooses a Store implementation (called by main.ts and the CLI). `onBackgroundError`
 * hears about failures outside any request: SQLite's checkpoint thread, PostgreSQL connections that
 * die while pooled. The store is guarded: an outage is a DatabaseUnavailableError (503), never a 500.
 */
export async function openStore(
  db: AppConfig['database'], clock: Clock, onBackgroundError?: (err: Error, what: string) => void, opts: { queryTimeoutMs?: number } = {},
): Promise<Store> {
  const store = db.kind === 'postgres'
    ? await openPostgresStore(db.url, db.schema, clock, { onConnectionError: (err) => onBackgroundError?.(err, 'database connection lost'), ...opts })
    : await openSqliteStore(db.path, clock, (err, what) => onBackgroundError?.(err, what));
  return guardStore(store);
}

/**
 * `miprox migrate`: opens the database, which applies every pending migration (kysely's Migrator
 * holds a lock, so a second copy waits and then finds nothing to do), and lists what it now holds.
 * Run once before new instances of a release start (docs/deploy.md, rolling upgrades).
 */
export async function migrateDatabase(db: AppConfig['database'], clock: Clock): Promise<string[]> {
  const store = db.kind === 'postgres' ? await openPostgresStore(db.url, db.schema, clock) : await openSqliteStore(db.path, clock);
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db);
    return rows.rows.map((r) => r.name);
  } finally {
    await store.close();
  }
}
