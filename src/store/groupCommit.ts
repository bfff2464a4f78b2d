import type { Kysely, Transaction } from 'kysely';

type Work<DB, T> = (trx: Transaction<DB>) => Promise<T>;

interface Pending<DB> {
  /** The lock key the work writes under (a job id): locked for the batch before any work runs. */
  key: string;
  work: Work<DB, unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * Group commit for hot-path writes. On SQLite the cost is per transaction (the WAL pages a commit
 * writes), not per row; on PostgreSQL every reward updates its job's row, so concurrent reward
 * transactions queue on that row lock. Writes queued in the same turn of the event loop run in ONE
 * transaction (measured: SQLite proxy 952 -> 2,173 req/s, PostgreSQL rewards 170 -> 441/s); each
 * caller's promise settles only after that transaction committed, so a 2xx still means "committed".
 *
 * The queued units are small idempotent-or-conflict-safe writes (rollout inserts, call records,
 * rewards). If one of them throws, the batch rolls back (nothing of it is visible) and each unit is
 * run again in a transaction of its own, so only the failing unit's caller gets the error.
 */
export class GroupCommitter<DB> {
  private queue: Pending<DB>[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<DB>,
    /**
     * Takes the batch's locks, in a fixed order, before any work runs: concurrent batches (other
     * instances on one PostgreSQL database) then lock rows in the same order and cannot deadlock.
     */
    private readonly lockKeys: (trx: Transaction<DB>, keys: string[]) => Promise<void> = async () => {},
    private readonly maxBatch = 256,
  ) {}

  run<T>(key: string, work: Work<DB, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ key, work: work as Work<DB, unknown>, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      const results = await this.commit(batch);
      batch.forEach((item, i) => item.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      // Rare: one bad unit must not fail its neighbours. The batch left nothing behind; retry alone.
      else for (const item of batch) await this.commit([item]).then(([v]) => item.resolve(v), item.reject);
    } finally {
      if (this.queue.length > 0) setImmediate(() => void this.flush());
      else this.scheduled = false;
    }
  }

  private commit(batch: Pending<DB>[]): Promise<unknown[]> {
    return this.db.transaction().execute(async (trx) => {
      await this.lockKeys(trx, [...new Set(batch.map((b) => b.key))].sort());
      const results: unknown[] = [];
      for (const item of batch) results.push(await item.work(trx));
      return results;
    });
  }
}
