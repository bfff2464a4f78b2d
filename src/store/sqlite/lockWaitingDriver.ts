import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, type QueryResult, SqliteDriver, type SqliteDialectConfig } from 'kysely';
import { type WriteLockWait, isBusy } from './writeLockWait.js';

/**
 * Kysely's SQLite driver, waiting for the write lock the way WriteLockWait says (asynchronously)
 * instead of in SQLite's busy handler on the event loop. Only statements outside a transaction are
 * tried again, and transactions begin IMMEDIATE: a lock held elsewhere then fails the BEGIN or a
 * statement of its own, before anything ran, never a write in the middle of a transaction (whose
 * earlier statements a retry could not vouch for).
 */
export class LockWaitingSqliteDriver extends SqliteDriver {
  private wrapped: { inner: DatabaseConnection; outer: DatabaseConnection } | null = null;

  /**
   * `beforeStatement` runs before each statement outside a transaction and each BEGIN; if it throws
   * (the database file was deleted), the statement does not run and fails with that error.
   */
  constructor(
    config: SqliteDialectConfig,
    private readonly sqlite: BetterSqlite3.Database,
    private readonly lock: WriteLockWait,
    private readonly beforeStatement: () => void = () => {},
  ) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    if (this.wrapped?.inner !== inner) this.wrapped = { inner, outer: this.waiting(inner) };
    return this.wrapped.outer;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  private waiting(inner: DatabaseConnection): DatabaseConnection {
    const { sqlite, lock, beforeStatement } = this;
    return {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        for (let waited = false; ; waited = true) {
          const outside = !sqlite.inTransaction;
          if (outside) beforeStatement();
          try {
            const result = await inner.executeQuery<R>(query);
            // A statement that ran as a write (kysely reports affected rows for those only) took the
            // lock; so did one that met the lock and then ran, RETURNING or not (SQLite reports a
            // write with RETURNING as a reader, and kysely no affected rows for it).
            if (outside && (result.numAffectedRows !== undefined || waited)) lock.acquired();
            return result;
          } catch (err) {
            const pause = outside && isBusy(err) ? lock.pauseAfterBusy() : null;
            if (pause === null) throw err;
            await sleep(pause);
          }
        }
      },
      streamQuery: (query, chunkSize) => inner.streamQuery(query, chunkSize),
    };
  }
}
