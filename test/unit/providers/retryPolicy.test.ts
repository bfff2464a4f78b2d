import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_TUNING,
  abortableSleep,
  backoffDelayMs,
  isRetryableStatus,
  parseRetryAfterMs,
} from '../../../src/providers/retryPolicy.js';
import { createSeededRng } from '../../../src/shared/rng.js';

const NOW = Date.parse('2025-01-01T00:00:00Z');
const CAP = 30_000;

describe('parseRetryAfterMs', () => {
  it.each([
    ['delta seconds', '2', undefined, 2000],
    ['fractional seconds', '0.5', undefined, 500],
    ['zero', '0', undefined, 0],
    ['HTTP date 3 s ahead', new Date(NOW + 3000).toUTCString(), undefined, 3000],
    ['HTTP date in the past', new Date(NOW - 60_000).toUTCString(), undefined, 0],
    ['capped seconds', '3600', undefined, CAP],
    ['capped date', new Date(NOW + 3_600_000).toUTCString(), undefined, CAP],
    ['retry-after-ms wins', '10', '250', 250],
    ['header array', ['4', '9'], undefined, 4000],
  ] as const)('%s', (_name, header, msHeader, expected) => {
    const h = typeof header === 'string' ? header : [...header];
    expect(parseRetryAfterMs(h, msHeader, NOW, CAP)).toBe(expected);
  });

  it.each([undefined, '', 'soon', '-5', 'Tue, 99 Foo 2025'])('ignores %j', (header) => {
    expect(parseRetryAfterMs(header, undefined, NOW, CAP)).toBeUndefined();
  });
});

describe('backoffDelayMs', () => {
  it('doubles per retry, stays within [step/2, step], and is capped', () => {
    const rng = createSeededRng(1);
    const t = { ...DEFAULT_RETRY_TUNING, baseDelayMs: 100, maxDelayMs: 1000 };
    for (let i = 0; i < 200; i++) {
      for (const [retry, step] of [[1, 100], [2, 200], [3, 400], [4, 800], [5, 1000], [9, 1000]] as const) {
        const d = backoffDelayMs(retry, t, rng);
        expect(d).toBeGreaterThanOrEqual(step / 2);
        expect(d).toBeLessThanOrEqual(step);
      }
    }
  });

  it('jitters: concurrent callers do not all wait the same time', () => {
    const rng = createSeededRng(7);
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelayMs(3, DEFAULT_RETRY_TUNING, rng)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe('isRetryableStatus', () => {
  it.each([
    [429, true],
    [500, true],
    [502, true],
    [503, true],
    [529, true],
    [400, false],
    [401, false],
    [404, false],
    [422, false],
  ])('%i -> %s', (status, expected) => {
    expect(isRetryableStatus(status)).toBe(expected);
  });
});

describe('abortableSleep', () => {
  it('rejects as soon as the signal aborts', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = abortableSleep(10_000, ac.signal);
    setTimeout(() => ac.abort(new Error('gone')), 10);
    await expect(p).rejects.toThrow('gone');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('rejects at once for an already aborted signal', async () => {
    await expect(abortableSleep(10, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });
});
