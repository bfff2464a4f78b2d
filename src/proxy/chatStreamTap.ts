import { StreamAccumulator } from '../providers/completionSummary.js';

/** How long an upstream may take to end its body after `data: [DONE]` before it is closed. */
const DRAIN_AFTER_DONE_MS = 5_000;

/**
 * The internal (chat completions) stream as the client's surface reads it, read for the call record
 * as it passes, and ended at the upstream's `data: [DONE]`: the answer is whole there, and a server
 * that keeps its connection open after it (keep-alive comments, a lingering socket) must not hold the
 * client's response open, nor the call record, which is written when the client's stream ends. The
 * rest of the body is read in the background (not cut: a body read to its end keeps the upstream
 * connection reusable), and closed if it has not ended within DRAIN_AFTER_DONE_MS.
 */
export function tapChatStream(body: AsyncIterable<Uint8Array>): { chunks: AsyncGenerator<Uint8Array>; acc: StreamAccumulator } {
  const acc = new StreamAccumulator();
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const it = body[Symbol.asyncIterator]();
    // Left early (the client went away), the body is closed, as a for-await loop would; not once it
    // ended, failed or went to the drain.
    let settled = false;
    try {
      for (;;) {
        settled = true;
        const next = await it.next();
        if (next.done === true) return;
        settled = false;
        yield next.value;
        // Read for the record after the chunk went on its way: off the path to the client's first byte.
        acc.push(next.value);
        if (acc.sawDone) {
          settled = true;
          drainInBackground(it);
          return;
        }
      }
    } finally {
      if (!settled) await it.return?.();
      acc.end();
    }
  }
  return { chunks: chunks(), acc };
}

/** Reads a body to its end, unread, off the client's path; closes it after DRAIN_AFTER_DONE_MS. */
function drainInBackground(it: AsyncIterator<Uint8Array>): void {
  // The providers' bodies close their upstream request on return(), even while a read is pending.
  const cut = setTimeout(() => void it.return?.()?.catch(() => undefined), DRAIN_AFTER_DONE_MS);
  cut.unref();
  void (async () => {
    try {
      while (!(await it.next()).done);
    } catch {
      // After [DONE], nothing the upstream does is part of the answer.
    } finally {
      clearTimeout(cut);
    }
  })();
}
