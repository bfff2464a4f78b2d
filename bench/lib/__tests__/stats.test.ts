import { describe, expect, it } from 'vitest';
import { fmtMs, percentile, summarize } from '../stats.js';
import { table, verdictLines } from '../report.js';

describe('percentile (nearest rank)', () => {
  const hundred = Float64Array.from({ length: 100 }, (_, i) => i + 1);

  it('returns the value at rank ceil(q*n)', () => {
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile(hundred, 0.99)).toBe(99);
    expect(percentile(hundred, 1)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
  });

  it('is NaN for no samples', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('summarize', () => {
  it('sorts numerically (not as strings) before taking percentiles', () => {
    const s = summarize([10, 9, 100, 2, 1]);
    expect(s.p50).toBe(9);
    expect(s.max).toBe(100);
    expect(s.count).toBe(5);
    expect(s.mean).toBeCloseTo(24.4);
  });
});

describe('formatting', () => {
  it('keeps sub-millisecond precision', () => {
    expect(fmtMs(0.1234)).toBe('0.123 ms');
    expect(fmtMs(123.45)).toBe('123.5 ms');
    expect(fmtMs(Number.NaN)).toBe('n/a');
  });

  it('pads table columns to the widest cell', () => {
    const t = table(['a', 'bb'], [['xxx', 'y']]).split('\n');
    expect(t[0]).toBe('| a   | bb |');
    expect(t[2]).toBe('| xxx | y  |');
  });

  it('says MISSED for a missed target and NOT MEASURED when it could not be measured', () => {
    const out = verdictLines([
      { target: 't1', measured: '1', met: true },
      { target: 't2', measured: '2', met: false },
      { target: 't3', measured: 'portkey failed', met: null },
    ]).split('\n');
    expect(out[0]).toMatch(/^met\s+t1: 1$/);
    expect(out[1]).toMatch(/^MISSED\s+t2: 2$/);
    expect(out[2]).toMatch(/^NOT MEASURED\s+t3: portkey failed$/);
  });
});
