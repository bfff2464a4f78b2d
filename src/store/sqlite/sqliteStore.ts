import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { type DialectAdapter, type Driver, Kysely, SqliteAdapter, SqliteDialect, type SqliteDatabase, type SqliteDialectConfig, type SqliteStatement } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { KyselyStore } from '../kyselyStore.js';
import { migrateToLatest } from '../migrations.js';
import type { Database } from '../schema.js';
import { SqliteHotPath } from './sqliteHotPath.js';
import { startBackgroundCheckpoint } from './backgroundCheckpoint.js';
import { DatabaseFileIdentity } from './fileIdentity.js';
import { LockWaitingSqliteDriver } from './lockWaitingDriver.js';
import { WriteLockWait } from './writeLockWait.js';
import { assertWritable } from './writableCheck.js';

/**
 * The embedded default. WAL lets readers run beside the writer; synchronous=NORMAL in WAL mode still
 * survives a process crash (only an OS crash can lose the last commits), which is the durability a
 * 2xx promises here. A CLI process touching the same file holds the write lock for a while: writes
 * wait for it asynchronously (writeLockWait.ts), not in SQLite's busy handler, which sleeps on the
 * event loop; that handler (busy_timeout) serves only the opening and the migrations, before any request.
 */
export async function openSqliteStore(path: string, clock: Clock, onCheckpointError: (err: Error, what: string) => void = () => {}): Promise<KyselyStore> {
  const created = path !== ':memory:' && !existsSync(path);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // A new database file is readable by its owner only: it holds every call's text and the API keys'
  // hashes. (SQLite gives its -wal and -shm files the database file's permissions.) An existing file
  // keeps the permissions its owner chose. Made empty with that mode before SQLite opens it: SQLite
  // made it 0644 and the chmod came after, a moment in which another local user could open it and
  // keep reading through that descriptor. ('a' leaves a file another process made meanwhile intact.)
  if (created) closeSync(openSync(path, 'a', 0o600));
  const sqlite = new BetterSqlite3(path);
  if (created) chmodSync(path, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const lock = new WriteLockWait();
  // Taken once the migrations have run (the WAL file exists then); until then nothing is checked.
  let file: DatabaseFileIdentity | null = null;
  const assertUnmoved = () => file?.assertUnmoved();
  const db = new Kysely<Database>({ dialect: new TransactionalDdlSqliteDialect({ database: withStatementCache(sqlite) }, sqlite, lock, assertUnmoved) });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  // Still under busy_timeout: a lock held by another process is waited for as the migrations were.
  try {
    assertWritable(sqlite);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  sqlite.pragma('busy_timeout = 0');
  if (path !== ':memory:') file = new DatabaseFileIdentity(path);
  const checkpoint = path === ':memory:' ? null : startBackgroundCheckpoint(sqlite, path, onCheckpointError);
  const hot = new SqliteHotPath(sqlite, lock, assertUnmoved);
  const beforeClose = async () => {
    hot.drain();
    await checkpoint?.stop();
  };
  return new KyselyStore(db, 'sqlite', clock, { hot, beforeClose, assertUsable: () => file?.assertUnmoved(0) });
}

/**
 * SQLite's DDL is transactional, but kysely's SQLite adapter says it is not, so its Migrator ran each
 * statement of a migration on its own: one that failed half-way (a full disk, an I/O error, a killed
 * process) kept its first statements and no record, and its retry at the next start failed on them
 * ("index ... already exists"), so the server no longer started on that database. Saying so makes the
 * Migrator apply the pending migrations and their records in one transaction, as on PostgreSQL.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class TransactionalDdlSqliteDialect extends SqliteDialect {
  constructor(
    private readonly config: SqliteDialectConfig,
    private readonly sqlite: BetterSqlite3.Database,
    private readonly lock: WriteLockWait,
    private readonly beforeStatement: () => void,
  ) {
    super(config);
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }

  override createDriver(): Driver {
    return new LockWaitingSqliteDriver(this.config, this.sqlite, this.lock, this.beforeStatement);
  }
}

const MAX_CACHED_STATEMENTS = 500;

const NOTHING_TO_ROLL_BACK: SqliteStatement = {
  reader: false,
  all: () => [],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  iterate: () => [][Symbol.iterator](),
};

/**
 * Kysely's SQLite driver prepares every statement on every execution, which was the largest single
 * cost on the proxy and reward paths (compiling SQL, not running it). Queries repeat by text, so a
 * bounded cache of prepared statements makes them compile once. better-sqlite3 is synchronous, so a
 * cached statement is never used by two queries at once.
 */
export function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      // SQLITE_FULL, IOERR, BUSY and NOMEM can roll back a transaction by themselves; kysely's own
      // ROLLBACK then failed with "no transaction is active", and that error replaced the real one
      // (a 500 instead of a 503 for a full disk). Nothing is left to roll back: let it be a no-op.
      if (sql === 'rollback' && !sqlite.inTransaction) return NOTHING_TO_ROLL_BACK;
      let stmt = cache.get(sql);
      if (!stmt) {
        if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
        stmt = sqlite.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt;
    },
  };
}
