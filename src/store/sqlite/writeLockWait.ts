import { performance } from 'node:perf_hooks';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * How long writes wait for SQLite's write lock while another process (a `sqlite3` shell, a script,
 * `miprox migrate`) holds it; past this they fail with SQLITE_BUSY (a 503, retry later) and /readyz
 * says down until the lock is free again.
 */
export const WRITE_LOCK_WAIT_MS = 5000;
/** The pauses between tries grow from FIRST to MAX: a short lock costs little, a long one few tries. */
const FIRST_PAUSE_MS = 2;
const MAX_PAUSE_MS = 100;

/** SQLITE_BUSY outside a transaction (or on its BEGIN): nothing ran, trying the statement again is safe. */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_RECOVERY';
}

/**
 * Waiting for SQLite's write lock without blocking the event loop. SQLite's own busy handler
 * (busy_timeout) sleeps on the calling thread, which for better-sqlite3 is the event loop: while
 * another process held the lock, every write froze the whole server for the full timeout (5 s),
 * /healthz and /readyz included, one write after another. The server's connection has no busy
 * handler; a write that meets the lock is tried again after an asynchronous pause instead.
 *
 * One wait for the whole connection: once the lock has been held longer than `maxWaitMs`, writes give
 * up after one try (each queued write waiting its own 5 s would make the n-th wait 5n s), and the
 * hold is reported to /readyz (`heldMs`) until a write, or the probe, takes the lock again.
 */
export class WriteLockWait {
  private lockedSince: number | null = null;
  private pauses = 0;

  constructor(private readonly maxWaitMs = WRITE_LOCK_WAIT_MS, private readonly now: () => number = () => performance.now()) {}

  /** After SQLITE_BUSY: how long to pause before trying again, or null to give up (the lock is held too long). */
  pauseAfterBusy(): number | null {
    const now = this.now();
    this.lockedSince ??= now;
    if (now - this.lockedSince >= this.maxWaitMs) return null;
    const pause = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** this.pauses++);
    return Math.min(pause, this.lockedSince + this.maxWaitMs - now);
  }

  /** A write took the lock: whatever held it has let go. */
  acquired(): void {
    this.lockedSince = null;
    this.pauses = 0;
  }

  /** How long (ms) the lock has been found held by another connection; 0 when it is not. */
  heldMs(): number {
    return this.lockedSince === null ? 0 : this.now() - this.lockedSince;
  }

  /**
   * Asks whether another connection holds the lock now (/readyz), without waiting: BEGIN IMMEDIATE
   * takes it and ROLLBACK gives it back (no I/O in WAL mode). With no write since a lock was met,
   * this is what notices its release. Not while this connection's own transaction is open: that
   * transaction holds the lock.
   */
  probe(db: BetterSqlite3.Database): void {
    if (db.inTransaction) return this.acquired();
    try {
      db.exec('begin immediate');
    } catch (err) {
      if (!isBusy(err)) throw err;
      this.lockedSince ??= this.now();
      return;
    }
    db.exec('rollback');
    this.acquired();
  }
}
