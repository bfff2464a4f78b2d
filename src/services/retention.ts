import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/types.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const DEFAULT_INTERVAL_MS = 60 * 60 * 1000;

export interface Retention {
  /** Stops the schedule and waits for a pass in progress (before the store closes). */
  stop(): Promise<void>;
}

/**
 * RETENTION_DAYS: call inputs and outputs (the bulky, possibly sensitive part of rollout records) are
 * cleared once they are older than `days`; rollouts, rewards and statistics are kept, so the
 * optimizer's state and the job's history stay whole. Runs at start and then hourly; a failed pass
 * is logged and retried on the next one.
 */
export function startRetention(deps: { store: Store; clock: Clock; log: Logger; days: number; intervalMs?: number }): Retention {
  let running: Promise<void> | null = null;
  const pass = (): void => {
    if (running) return;
    const before = new Date(deps.clock.now() - deps.days * DAY_MS).toISOString();
    running = deps.store.forgetCallText(before).then(
      (n) => {
        if (n > 0) deps.log.info({ rollouts: n, before }, 'retention: cleared old call text');
      },
      (err: unknown) => deps.log.error({ err }, 'retention pass failed'),
    ).finally(() => {
      running = null;
    });
  };
  pass();
  const timer = setInterval(pass, deps.intervalMs ?? DEFAULT_INTERVAL_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
