import type { AppConfig } from '../config/config.js';
import type { Clock } from '../shared/clock.js';
import { openPostgresStore } from './postgres/postgresStore.js';
import { openSqliteStore } from './sqlite/sqliteStore.js';
import type { Store } from './types.js';

/**
 * The one place that chooses a Store implementation (called by main.ts and the CLI). `onBackgroundError`
 * hears about failures of the store's own background work (SQLite's checkpoint thread).
 */
export function openStore(db: AppConfig['database'], clock: Clock, onBackgroundError?: (err: Error) => void): Promise<Store> {
  return db.kind === 'postgres' ? openPostgresStore(db.url, db.schema, clock) : openSqliteStore(db.path, clock, onBackgroundError);
}
