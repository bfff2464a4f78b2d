import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/types.js';
import { type PeriodicTask, startPeriodicTask } from '../shared/periodicTask.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_INTERVAL_MS = 60 * 60 * 1000;

/**
 * RETENTION_DAYS: call inputs and outputs (the bulky, possibly sensitive part of rollout records) are
 * cleared once they are older than `days`; rollouts, rewards and statistics are kept, so the
 * optimizer's state and the job's history stay whole. Runs at start and then hourly; a failed pass
 * is logged and retried on the next one.
 */
export function startRetention(deps: { store: Store; clock: Clock; log: Logger; days: number; intervalMs?: number }): PeriodicTask {
  return startPeriodicTask(async () => {
    const before = new Date(deps.clock.now() - deps.days * DAY_MS).toISOString();
    try {
      const n = await deps.store.forgetCallText(before);
      if (n > 0) deps.log.info({ rollouts: n, before }, 'retention: cleared old call text');
    } catch (err) {
      deps.log.error({ err }, 'retention pass failed');
    }
  }, deps.intervalMs ?? DEFAULT_INTERVAL_MS, { runAtStart: true });
}
