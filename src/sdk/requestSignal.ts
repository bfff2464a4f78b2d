/** The longest delay a Node timer holds (2^31 - 1 ms, ~24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface RequestSignal {
  signal: AbortSignal;
  /** Whether the request's own timeout fired (not the caller's signal). */
  readonly timedOut: boolean;
  /** Stops the timer and lets go of the caller's signal: call it when the request is over. */
  dispose(): void;
}

/**
 * One request's abort signal: its timeout, and the caller's signal when given. Built by hand rather
 * than with AbortSignal.timeout and AbortSignal.any: on Node 20, AbortSignal.any keeps a record of
 * every signal combined with a long-lived one (an app's single shutdown signal passed to every call),
 * so memory grew with each request (~70 bytes each, measured over 150,000 calls); and
 * AbortSignal.timeout throws a RangeError, not a MiproxError, for `timeoutMs: Infinity` (no limit) or
 * a fraction. A timeout past what a timer holds means no timeout.
 */
export function requestSignal(timeoutMs: number, caller: AbortSignal | undefined): RequestSignal {
  const controller = new AbortController();
  let timedOut = false;
  const timer = timeoutMs <= MAX_TIMER_MS
    ? setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, Math.max(0, timeoutMs))
    : undefined;
  const onAbort = () => controller.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    },
  };
}
