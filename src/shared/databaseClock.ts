import { performance } from 'node:perf_hooks';
import type { Clock } from './clock.js';

/** How often an instance on PostgreSQL reads the database's clock again (drift of the monotonic clock). */
export const DATABASE_CLOCK_SYNC_MS = 60_000;

/** How far behind a re-read may put this clock and be waited out rather than followed back. */
export const HOLD_MS = 1_000;

/** A clock that follows the database's: `sync` reads it (one round trip). */
export interface DatabaseClock extends Clock {
  sync(readDatabaseMs: () => Promise<number>): Promise<void>;
}

/**
 * The time of an instance on PostgreSQL: the database's clock as last read, moved on by this
 * process's monotonic clock. Every instance of a cluster then stamps rows and events, and compares
 * them (missing-reward cut-offs, cache and lease expiry), on one clock whatever its machine's says,
 * and a step of the machine's clock (NTP correcting it, a VM resumed) moves nothing: a step back
 * had kept cached job state "fresh" and a revoked key cached for as long as the step. The read is
 * placed at the middle of its round trip. A later read up to HOLD_MS behind this clock holds time
 * still until it catches up, so a re-read's few milliseconds of error never run time backwards; a
 * larger step back is the database's own clock stepping, and is followed (held instead, every
 * cache expiry on this instance would stand still for the whole step). Until the first sync it
 * follows the machine's clock.
 */
export function databaseClock(machine: Clock, monotonicMs: () => number = () => performance.now()): DatabaseClock {
  let anchor = { at: machine.now(), mono: monotonicMs() };
  let last = Number.NEGATIVE_INFINITY;
  return {
    now() {
      const t = Math.floor(anchor.at + (monotonicMs() - anchor.mono));
      if (t >= last || last - t > HOLD_MS) last = t;
      return last;
    },
    async sync(readDatabaseMs) {
      const sent = monotonicMs();
      const at = await readDatabaseMs();
      const received = monotonicMs();
      anchor = { at: at + (received - sent) / 2, mono: received };
    },
  };
}
