import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockWaitingSqliteDriver } from '../../src/store/sqlite/lockWaitingDriver.js';
import { WriteLockWait } from '../../src/store/sqlite/writeLockWait.js';

interface Db { t: { k: string; n: number } }

describe('LockWaitingSqliteDriver', () => {
  let sqlite: BetterSqlite3.Database;
  let other: BetterSqlite3.Database;
  let db: Kysely<Db>;
  let lock: WriteLockWait;
  beforeEach(() => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-lwd-')), 'l.db');
    sqlite = new BetterSqlite3(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.exec("create table t (k text primary key, n integer not null); insert into t values ('a', 0)");
    sqlite.pragma('busy_timeout = 0'); // as the store's connection once open
    other = new BetterSqlite3(path);
    lock = new WriteLockWait(300);
    db = new Kysely<Db>({
      dialect: {
        createAdapter: () => new SqliteAdapter(),
        createDriver: () => new LockWaitingSqliteDriver({ database: sqlite }, sqlite, lock),
        createIntrospector: (k) => new SqliteIntrospector(k),
        createQueryCompiler: () => new SqliteQueryCompiler(),
      },
    });
  });
  afterEach(async () => {
    if (other.inTransaction) other.exec('rollback');
    other.close();
    await db.destroy();
  });

  it('forgets a lock it waited out when the write that waited had RETURNING (a reader statement to SQLite)', async () => {
    other.exec('begin immediate');
    const write = db.updateTable('t').set((eb) => ({ n: eb('n', '+', 1) })).where('k', '=', 'a').returning('n').executeTakeFirstOrThrow();
    await new Promise((r) => setTimeout(r, 50));
    other.exec('rollback');
    expect((await write).n).toBe(1);
    // The write took the lock: nothing holds it now. A stale hold made the next brief lock (past the
    // 300 ms here, 5 s in the server) fail its writes at the first try, and /readyz report it.
    expect(lock.heldMs()).toBe(0);
    await new Promise((r) => setTimeout(r, 350));
    other.exec('begin immediate');
    const next = db.updateTable('t').set({ n: 5 }).where('k', '=', 'a').returning('n').executeTakeFirstOrThrow();
    setTimeout(() => other.exec('rollback'), 30);
    expect((await next).n).toBe(5);
  });
});
