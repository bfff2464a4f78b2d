import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { KyselyStore } from '../kyselyStore.js';
import { migrateToLatest } from '../migrations.js';
import type { Database } from '../schema.js';

/**
 * The embedded default. WAL lets readers run beside the writer; synchronous=NORMAL in WAL mode still
 * survives a process crash (only an OS crash can lose the last commits), which is the durability a
 * 2xx promises here. busy_timeout covers a CLI process touching the same file as the server.
 */
export async function openSqliteStore(path: string, clock: Clock): Promise<KyselyStore> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrateToLatest(db as Kysely<unknown>);
  return new KyselyStore(db, 'sqlite', clock);
}
