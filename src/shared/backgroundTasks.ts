import type { Logger } from './logger.js';
import { JobGoneError } from './errors.js';

/**
 * Work that outlives the request that started it (rollout output records, proposals). Tracked so a
 * graceful shutdown can wait for it before closing the store; failures are logged, never thrown.
 */
export class BackgroundTasks {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly log: Logger) {}

  add(task: Promise<unknown>, what: string): void {
    const tracked = task.catch((err: unknown) => {
      // A call record or proposal of a job deleted meanwhile: nothing to keep, nothing went wrong.
      if (err instanceof JobGoneError) this.log.info({ what, error: err.message }, 'background task dropped: its job was deleted');
      else this.log.error({ err, what }, 'background task failed');
    })
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Resolves when everything pending now (and anything it starts) has finished. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
