import type BetterSqlite3 from 'better-sqlite3';

/**
 * Fails with SQLite's own error (SQLITE_READONLY, SQLITE_BUSY, ...) unless this connection can write
 * the database. SQLite opens a file it may not write (mode 0444 for the server's user, a read-only
 * mount, an immutable file) read-only without saying so, and reads, the migrations already applied
 * and `begin immediate` all succeed on it: the server started, /readyz said ready, and every write
 * then answered 503 "retry shortly", a fault no retry cures. Writing the header's user_version with
 * its own value inside a transaction that is rolled back touches a page without changing the file.
 */
export function assertWritable(sqlite: BetterSqlite3.Database): void {
  const version = Number(sqlite.pragma('user_version', { simple: true }));
  sqlite.exec('begin immediate');
  try {
    sqlite.pragma(`user_version = ${version}`);
  } finally {
    if (sqlite.inTransaction) sqlite.exec('rollback');
  }
}
