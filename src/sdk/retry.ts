import { ConnectionError, MiproxError, RateLimitError, ServerError, TimeoutError } from './errors.js';

/**
 * When to try a request again, and how long to wait first. Only requests that are safe to repeat
 * are retried (GETs, and rewards carrying a rollout id, which the server deduplicates); any request
 * is retried when the connection was refused, because then the server never saw it.
 */

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** A retry-after longer than this is not waited for: the caller hears the 429/503 instead. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Full-jitter exponential backoff: uniform in [0, min(max, base * 2^attempt)]. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(random() * ceiling);
}

/** Reads `retry-after-ms`, then `retry-after` (seconds or an HTTP date). */
export function parseRetryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The delay before retry number `attempt + 1`, or null to give up and throw `err`.
 * `idempotent`: the request may be repeated even if the server saw the first one.
 */
export function retryDelayMs(err: unknown, attempt: number, idempotent: boolean, policy: RetryPolicy, random?: () => number): number | null {
  if (attempt >= policy.maxRetries || !(err instanceof MiproxError)) return null;
  const backoff = backoffDelayMs(attempt, policy, random);
  if (err instanceof ConnectionError) return idempotent || !err.requestSent ? backoff : null;
  // A closing server refused the request before anything of it ran: any request may go again.
  if (err instanceof ServerError && err.code === 'server_closing') return Math.min(err.retryAfterMs ?? backoff, backoff);
  if (!idempotent) return null;
  if (err instanceof TimeoutError) return backoff;
  if (err instanceof RateLimitError || err instanceof ServerError) {
    const retryAfter = err.retryAfterMs;
    if (retryAfter === undefined) return backoff;
    return retryAfter > MAX_RETRY_AFTER_MS ? null : retryAfter;
  }
  return null;
}

/** Waits, but stops early (rejecting with the signal's reason) when the caller aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
