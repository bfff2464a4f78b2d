import { sleep } from './retry.js';
import { type SessionEvent, isTerminalStatus } from './wire.js';

export interface WatchEventsOptions {
  /** Start after this sequence number (default 0: from the first event). */
  sinceSeq?: number;
  /** Events per request (default 500). */
  limit?: number;
  /** Pause between polls when nothing new arrived (default 1 000 ms). */
  pollMs?: number;
  /** Return once the job is final and every event has been read (default true). */
  stopWhenFinished?: boolean;
  /** Aborting ends the generator quietly. */
  signal?: AbortSignal;
}

export interface EventSource {
  events(opts: { sinceSeq: number; limit: number; signal?: AbortSignal }): Promise<SessionEvent[]>;
  status(opts: { signal?: AbortSignal }): Promise<{ status: string }>;
}

/**
 * Polls a session's event log and yields each event once, in `seq` order. A full page is followed
 * at once (catching up); an empty one waits `pollMs`. When the job is final, one more read picks up
 * events written just before the status changed, then the generator returns.
 */
export async function* watchEvents(source: EventSource, opts: WatchEventsOptions = {}): AsyncGenerator<SessionEvent, void, undefined> {
  let since = opts.sinceSeq ?? 0;
  const limit = opts.limit ?? 500;
  const pollMs = opts.pollMs ?? 1_000;
  const stopWhenFinished = opts.stopWhenFinished ?? true;
  const call = opts.signal ? { signal: opts.signal } : {};
  let finished = false;
  try {
    for (;;) {
      const batch = await source.events({ sinceSeq: since, limit, ...call });
      for (const event of batch) {
        if (event.seq <= since) continue;
        since = event.seq;
        yield event;
      }
      if (batch.length >= limit) continue;
      if (finished) return;
      if (stopWhenFinished && isTerminalStatus((await source.status(call)).status)) {
        finished = true;
        continue;
      }
      await sleep(pollMs, opts.signal);
    }
  } catch (err) {
    if (opts.signal?.aborted) return;
    throw err;
  }
}
