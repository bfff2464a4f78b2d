import type BetterSqlite3 from 'better-sqlite3';
import { WriteLockWait, isBusy } from './writeLockWait.js';

interface Pending {
  work: () => unknown;
  /** The unit makes at most one write, as its last step: it needs no savepoint (runStatement). */
  single: boolean;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * Group commit for SQLite's hot path, synchronous inside: writes queued in one turn of the event loop
 * run in ONE transaction on the next turn (SQLite's cost is per commit, not per row), and each
 * caller's promise settles only after that commit, so a 2xx still means "committed".
 *
 * Each unit runs in its own savepoint (better-sqlite3 nests `transaction()` that way): a unit that
 * throws is rolled back alone and only its caller gets the error; the others still commit.
 *
 * A commit costs one write syscall per page it touches, and better-sqlite3 makes it on the event loop.
 * The connection must have no busy handler (busy_timeout 0, as the store's): a write lock another
 * process holds fails the batch's BEGIN at once, and the batch waits for it asynchronously
 * (WriteLockWait) instead of in SQLite's handler, which sleeps on the event loop.
 *
 * Writes nobody is waiting for (`runLazy`: a call's output record, written after the answer was sent)
 * wait up to `lazyMs` to ride along with the next urgent batch: one commit per proxied call, not two.
 */
export class SyncGroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private lazyTimer: NodeJS.Timeout | null = null;
  /** Set while the batch waits for another connection to let go of the write lock (WriteLockWait). */
  private lockTimer: NodeJS.Timeout | null = null;
  /** Whether the current batch's transaction began (its units ran): a BUSY before that left nothing to undo. */
  private began = false;
  private readonly batch: (items: Pending[]) => Array<{ ok: true; value: unknown } | { ok: false; err: unknown }>;
  private readonly lock: WriteLockWait;

  /**
   * `beforeCommit` runs inside each batch's transaction after its units: writes that many units share
   * (counters on one row) are folded there into one statement per row instead of one per unit. If it
   * throws, the whole batch rolls back and every unit's caller gets the error.
   */
  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly opts: {
      lazyMs?: number; maxBatch?: number; beforeCommit?: () => void; lock?: WriteLockWait;
      /** Runs before each batch; if it throws (the database file was deleted), the batch fails with that error, nothing written. */
      beforeBatch?: () => void;
    } = {},
  ) {
    this.lock = opts.lock ?? new WriteLockWait();
    const unit = db.transaction((work: () => unknown) => work());
    const batch = db.transaction((items: Pending[]) => {
      this.began = true;
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
      for (const item of items) {
        try {
          outcomes.push({ ok: true, value: item.single ? item.work() : unit(item.work) });
        } catch (err) {
          // SQLITE_FULL, IOERR, BUSY and NOMEM may roll back the whole transaction, not just the
          // unit's savepoint. Then nothing of this batch will commit, and the next units must not run
          // on their own (outside any transaction, each would commit by itself): fail the batch
          // with the real error.
          if (!db.inTransaction) throw err;
          outcomes.push({ ok: false, err });
        }
      }
      opts.beforeCommit?.();
      return outcomes;
    });
    // BEGIN IMMEDIATE: the write lock is taken before any unit runs, so a lock held by another
    // process fails the BEGIN (nothing to undo, the batch is tried again), never a unit half-way.
    this.batch = (items) => batch.immediate(items);
  }

  /** Commits `work` within two turns of the event loop, with whatever else is queued. */
  run<T>(work: () => T): Promise<T> {
    const done = this.enqueue(work, false);
    this.schedule();
    return done;
  }

  /**
   * As `run`, for a unit whose only write is one statement and nothing after it can fail: SQLite
   * undoes a failed statement by itself (its statement journal), so the unit's savepoint would
   * guard nothing. A savepoint and its release cost about as much as a small insert (measured:
   * 3.6 vs 2.5 us per insert), and every proxied call makes one such unit.
   */
  runStatement<T>(work: () => T): Promise<T> {
    const done = this.enqueue(work, true);
    this.schedule();
    return done;
  }

  /** Commits `work` with the next batch, at the latest after `lazyMs`. */
  runLazy<T>(work: () => T): Promise<T> {
    const done = this.enqueue(work, false);
    this.lazyTimer ??= setTimeout(() => this.schedule(), this.opts.lazyMs ?? 5);
    return done;
  }

  private enqueue<T>(work: () => T, single: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, single, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /**
   * Flushes on the check phase of the NEXT event-loop turn, not this one: undici writes a request on
   * a reused keep-alive socket from a setImmediate too, and the proxy queues the rollout insert just
   * before it starts the upstream call. Flushing one turn later lets the upstream request leave
   * first; the commit then overlaps the upstream's work instead of delaying it.
   */
  private schedule(): void {
    if (this.scheduled || this.lockTimer) return;
    this.scheduled = true;
    setImmediate(() => setImmediate(() => this.flush()));
  }

  /** Commits everything queued, now (the store is closing); a write lock held elsewhere fails them at once. */
  drain(): void {
    if (this.lockTimer) clearTimeout(this.lockTimer);
    this.lockTimer = null;
    while (this.queue.length > 0 && !this.db.inTransaction) this.commitBatch(false);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.lockTimer) return; // waiting for the write lock: its timer flushes
    // The connection is shared with kysely, whose transactions are asynchronous: if one is open, our
    // statements would join it (and its rollback would undo them). Wait for it to end.
    if (this.db.inTransaction) {
      this.schedule();
      return;
    }
    this.commitBatch();
    if (this.queue.length > 0) this.schedule();
  }

  private commitBatch(waitForLock = true): void {
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
    const items = this.queue.splice(0, this.opts.maxBatch ?? 512);
    if (items.length === 0) return;
    this.began = false;
    try {
      this.opts.beforeBatch?.();
      const outcomes = this.batch(items);
      this.lock.acquired();
      items.forEach((item, i) => {
        const o = outcomes[i]!;
        if (o.ok) item.resolve(o.value);
        else item.reject(o.err);
      });
    } catch (err) {
      // Another connection holds the write lock: nothing ran; the batch goes back to the front of the
      // queue and is tried again after a pause, unless the lock has been held too long.
      const pause = waitForLock && !this.began && isBusy(err) ? this.lock.pauseAfterBusy() : null;
      if (pause !== null) {
        this.queue.unshift(...items);
        this.lockTimer = setTimeout(() => {
          this.lockTimer = null;
          this.flush();
        }, pause);
        return;
      }
      // The commit itself failed (disk full, database locked too long, file deleted): nothing was written.
      for (const item of items) item.reject(err);
    }
  }
}
