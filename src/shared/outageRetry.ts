import { setTimeout as sleep } from 'node:timers/promises';
import { DatabaseUnavailableError } from './errors.js';

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5_000;

/**
 * Runs `write` again while it fails only because the database cannot be reached, with growing
 * pauses, until it succeeds, `deadline` (ms on the caller's `now`) would pass, or `stopping` fires; then the last
 * error is thrown. For writes whose request has already been answered or has ended, that nothing
 * would otherwise write again: a proposal's end (left to its lease expiry minutes later, under a
 * reason that was not the real one) and a proxied call's record (a rollout left without its call).
 * Only outage errors are retried: the statement did not run (or, rarely, ran and its answer was
 * lost; a call record may then be counted twice, a proposal's end is written once).
 */
export async function retryWhileDatabaseDown(
  write: () => Promise<void>,
  opts: { now: () => number; deadline: number; stopping?: AbortSignal | undefined },
): Promise<void> {
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    try {
      await write();
      return;
    } catch (err) {
      if (!(err instanceof DatabaseUnavailableError) || opts.stopping?.aborted || opts.now() + delay > opts.deadline) throw err;
      try {
        await sleep(delay, undefined, opts.stopping ? { signal: opts.stopping } : undefined);
      } catch {
        throw err; // the shutdown came: the lease expiry closes it
      }
    }
  }
}
