import type { Rng } from '../shared/rng.js';
import { onCancel, type CancelSignal } from './cancelSignal.js';

/**
 * When and how long to wait before retrying an upstream call. Pure functions, so the schedule is
 * tested without sleeping; the transport (upstreamTransport.ts) applies them.
 */
export interface RetryTuning {
  /** First backoff step; doubled on every further attempt. */
  baseDelayMs: number;
  /** Ceiling of the exponential backoff step before jitter. */
  maxDelayMs: number;
  /** Ceiling of a server-requested `retry-after` wait: a proxy cannot park a request for minutes. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_TUNING: RetryTuning = {
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
};

/** 429 (rate limited) and 5xx (incl. Anthropic's 529 "overloaded") are worth another try. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The provider's own verdict on retrying, `x-should-retry: true|false` (OpenAI and Anthropic send it;
 * their SDKs obey it before their status rules). Undefined when absent or neither word: the status decides.
 */
export function shouldRetryHint(header: string | string[] | undefined): boolean | undefined {
  const v = firstHeaderValue(header)?.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so concurrent callers
 * that failed together do not retry in lockstep, yet every caller still waits a meaningful time.
 * `retryNumber` is 1 for the first retry.
 */
export function backoffDelayMs(retryNumber: number, tuning: RetryTuning, rng: Rng): number {
  const exp = tuning.baseDelayMs * 2 ** Math.max(0, retryNumber - 1);
  const step = Math.min(tuning.maxDelayMs, exp);
  return Math.round(step / 2 + (step / 2) * rng.next());
}

/**
 * `retry-after` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). Returns the wait in ms,
 * capped, or undefined when the header is absent or unreadable (then normal backoff applies).
 * OpenAI also sends `retry-after-ms`, which is more precise when present.
 */
export function parseRetryAfterMs(
  retryAfter: string | string[] | undefined,
  retryAfterMs: string | string[] | undefined,
  nowMs: number,
  capMs: number,
): number | undefined {
  const ms = firstHeaderValue(retryAfterMs);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) {
    return Math.min(capMs, Math.max(0, Math.round(Number(ms))));
  }
  const value = firstHeaderValue(retryAfter)?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.min(capMs, Math.round(Number(value) * 1000));
  // HTTP dates always name a month; this keeps Date.parse from reading "-5" as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.min(capMs, Math.max(0, date - nowMs));
}

/** A header's first value (Node gives an array for a repeated header). */
export function firstHeaderValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** setTimeout as a promise that rejects with the signal's reason when the caller aborts. */
export function abortableSleep(ms: number, signal?: CancelSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new Error('aborted'));
      return;
    }
    const stopListening = signal
      ? onCancel(signal, () => {
        clearTimeout(timer);
        reject(signal.reason ?? new Error('aborted'));
      })
      : () => {};
    const timer = setTimeout(() => {
      stopListening();
      resolve();
    }, ms);
  });
}

export type SleepFn = (ms: number, signal?: CancelSignal) => Promise<void>;
