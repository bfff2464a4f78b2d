import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/types.js';
import { startPeriodicTask } from '../shared/periodicTask.js';

/** How often each instance looks for deleted jobs whose rows are not all gone (a purge cut short). */
export const DEFAULT_PURGE_SWEEP_MS = 10 * 60_000;

/** The longest pause between two slices (a slice slowed by something else must not stall the removal). */
const MAX_PAUSE_MS = 50;

export interface JobPurger {
  /** Starts removing a job just marked deleted on this instance (at once, in the background). */
  purge(jobId: string): void;
  /** Stops between two slices and waits for that; what is left is resumed by the next start. */
  stop(): Promise<void>;
}

/**
 * Removes deleted jobs' rows in the background (store/jobPurge.ts): at once for a delete made on this
 * instance, and on every instance at start and every `intervalMs` for any deleted job left half
 * removed (an instance stopped or died mid-way). Two instances purging one job only repeat
 * idempotent deletes. One job at a time per instance; a failed pass is logged and tried again by
 * the next sweep.
 */
export function startJobPurger(deps: { store: Store; log: Logger; intervalMs?: number }): JobPurger {
  let stopping = false;
  const queued = new Set<string>();
  let draining: Promise<void> | null = null;
  // After each slice, a pause as long as the slice took (at most MAX_PAUSE_MS): the removal takes
  // at most about half of the server's time. A bare turn of the event loop let slices take nearly all
  // of it, and other jobs' requests, which need several turns each, tripled their median latency.
  let sliceStarted = performance.now();
  const between = async (): Promise<boolean> => {
    const spent = performance.now() - sliceStarted;
    await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_PAUSE_MS, Math.max(1, spent))));
    sliceStarted = performance.now();
    return !stopping;
  };

  const purgeOne = async (jobId: string): Promise<void> => {
    const t0 = performance.now();
    try {
      const removed = await deps.store.purgeDeletedJob(jobId, { between });
      if (removed === null) deps.log.info({ jobId }, 'deleted job: removal paused by the shutdown; the next start resumes it');
      else deps.log.info({ jobId, rows: removed, ms: Math.round(performance.now() - t0) }, 'deleted job: its rows are removed');
    } catch (err) {
      deps.log.error({ err, jobId }, 'deleted job: removing its rows failed; the next sweep tries again');
    }
  };

  const drain = (): Promise<void> => {
    draining ??= (async () => {
      while (!stopping && queued.size > 0) {
        const jobId = queued.values().next().value as string;
        await purgeOne(jobId);
        queued.delete(jobId);
      }
    })().finally(() => {
      draining = null;
    });
    return draining;
  };

  const sweep = startPeriodicTask(async () => {
    try {
      for (const id of await deps.store.deletedJobIds()) queued.add(id);
    } catch (err) {
      deps.log.error({ err }, 'deleted jobs sweep failed');
      return;
    }
    await drain();
  }, deps.intervalMs ?? DEFAULT_PURGE_SWEEP_MS, { runAtStart: true });

  return {
    purge(jobId) {
      if (stopping) return;
      queued.add(jobId);
      void drain();
    },
    async stop() {
      stopping = true;
      await sweep.stop();
      await draining;
    },
  };
}
