import { describe, expect, it } from 'vitest';
import {
  addObservation,
  confidenceSequence,
  csRadius,
  emptyStats,
  mergeStats,
  normalQuantile,
  posteriorMean,
  posteriorOf,
  rewardModelFor,
  sampleBeta,
  sampleGamma,
  sampleNormal,
  sampleVariance,
  statsOf,
  tQuantile,
  wilsonInterval,
  fixedInterval,
  UNIFORM_BETA,
} from '../../../src/optimizer/core/index.js';
import { createSeededRng } from '../../../src/shared/rng.js';

function twoPass(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
}

describe('Welford running statistics', () => {
  it.each([
    { name: 'small integers', xs: [1, 2, 3, 4, 5] },
    { name: 'binary rewards', xs: [0, 1, 1, 0, 1, 1, 1, 0] },
    { name: 'large offset (catastrophic cancellation for naive sums)', xs: [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16] },
    { name: 'negative and fractional', xs: [-2.5, 0.25, 3.75, -1, 0] },
  ])('matches the two-pass mean and variance: $name', ({ xs }) => {
    const s = statsOf(xs);
    const ref = twoPass(xs);
    expect(s.n).toBe(xs.length);
    expect(s.mean).toBeCloseTo(ref.mean, 9);
    expect(sampleVariance(s)).toBeCloseTo(ref.variance, 6);
  });

  it('does not mutate its input and gives variance 0 below two observations', () => {
    const s0 = emptyStats();
    const s1 = addObservation(s0, 3);
    expect(s0).toEqual({ n: 0, mean: 0, m2: 0 });
    expect(sampleVariance(s1)).toBe(0);
  });

  it('merging two halves equals one pass over everything', () => {
    const xs = [0.1, 0.9, 0.4, 0.4, 1, 0, 0.3, 0.75, 0.2];
    const merged = mergeStats(statsOf(xs.slice(0, 4)), statsOf(xs.slice(4)));
    const whole = statsOf(xs);
    expect(merged.n).toBe(whole.n);
    expect(merged.mean).toBeCloseTo(whole.mean, 12);
    expect(merged.m2).toBeCloseTo(whole.m2, 12);
  });
});

describe('posteriors', () => {
  it('uses fractional Beta updates for rewards in [0, 1]', () => {
    const p = posteriorOf(statsOf([1, 0.5, 0]), UNIFORM_BETA);
    expect(p).toEqual({ kind: 'beta', alpha: 2.5, beta: 2.5 });
  });

  it('switches the whole job to the normal model when any reward is outside [0, 1]', () => {
    const model = rewardModelFor([
      { stats: statsOf([0, 1]), unitInterval: true },
      { stats: statsOf([5, 7]), unitInterval: false },
    ]);
    expect(model.kind).toBe('normal');
    const p = posteriorOf(statsOf([5, 7, 6]), model);
    expect(p.kind).toBe('normal');
    // Pulled slightly toward the pooled mean (3.25) by one pseudo-observation.
    expect(posteriorMean(p)).toBeLessThan(6);
    expect(posteriorMean(p)).toBeGreaterThan(5);
  });
});

describe('random variates', () => {
  const N = 40_000;
  it.each([
    { alpha: 2, beta: 5 },
    { alpha: 0.5, beta: 0.5 },
    { alpha: 30, beta: 10 },
  ])('Beta($alpha, $beta) has the right mean and variance', ({ alpha, beta }) => {
    const rng = createSeededRng(42);
    const xs = Array.from({ length: N }, () => sampleBeta(alpha, beta, rng));
    const s = statsOf(xs);
    const mean = alpha / (alpha + beta);
    const variance = (alpha * beta) / ((alpha + beta) ** 2 * (alpha + beta + 1));
    expect(Math.abs(s.mean - mean)).toBeLessThan(4 * Math.sqrt(variance / N));
    expect(sampleVariance(s)).toBeCloseTo(variance, 2);
    expect(xs.every((x) => x >= 0 && x <= 1)).toBe(true);
  });

  it.each([0.3, 1, 4.5])('Gamma(%s) has mean = variance = shape', (shape) => {
    const rng = createSeededRng(7);
    const s = statsOf(Array.from({ length: N }, () => sampleGamma(shape, rng)));
    expect(Math.abs(s.mean - shape)).toBeLessThan(4 * Math.sqrt(shape / N));
    expect(Math.abs(sampleVariance(s) - shape) / shape).toBeLessThan(0.06);
  });

  it('normal draws have the requested mean and sd, and repeat for the same seed', () => {
    const draw = (seed: number): number[] => {
      const rng = createSeededRng(seed);
      return Array.from({ length: N }, () => sampleNormal(3, 2, rng));
    };
    const s = statsOf(draw(1));
    expect(s.mean).toBeCloseTo(3, 1);
    expect(Math.sqrt(sampleVariance(s))).toBeCloseTo(2, 1);
    expect(draw(5).slice(0, 10)).toEqual(draw(5).slice(0, 10));
  });
});

describe('quantiles', () => {
  it.each([
    { p: 0.975, z: 1.959964 },
    { p: 0.5, z: 0 },
    { p: 0.001, z: -3.090232 },
  ])('normal quantile at $p', ({ p, z }) => {
    expect(normalQuantile(p)).toBeCloseTo(z, 5);
  });

  it.each([
    { df: 1, t: 12.7062 },
    { df: 2, t: 4.3027 },
    { df: 5, t: 2.5706 },
    { df: 30, t: 2.0423 },
  ])('t quantile at 0.975 with $df degrees of freedom', ({ df, t }) => {
    expect(Math.abs(tQuantile(0.975, df) - t)).toBeLessThan(df < 5 ? 1e-3 : 5e-3);
  });
});

describe('anytime-valid confidence sequence', () => {
  it('shrinks as n grows and widens as alpha shrinks', () => {
    const radii = [10, 100, 1000, 10000].map((n) => csRadius(n, 0.05));
    for (let i = 1; i < radii.length; i++) expect(radii[i]!).toBeLessThan(radii[i - 1]!);
    expect(csRadius(100, 0.001)).toBeGreaterThan(csRadius(100, 0.05));
    expect(csRadius(0, 0.05)).toBe(Infinity);
  });

  it('is wider than the fixed-n interval (the price of looking at every n)', () => {
    const fixed = 1.96 * Math.sqrt(0.25 / 400);
    expect(csRadius(400, 0.05)).toBeGreaterThan(fixed);
    expect(csRadius(400, 0.05)).toBeLessThan(3 * fixed);
  });

  it('covers the true mean at every n at once in at least 1 - alpha of streams', () => {
    const rng = createSeededRng(2024);
    const streams = 400;
    const horizon = 1000;
    let escaped = 0;
    for (let k = 0; k < streams; k++) {
      const p = 0.3 + 0.4 * (k / streams);
      let s = emptyStats();
      for (let n = 0; n < horizon; n++) {
        s = addObservation(s, rng.next() < p ? 1 : 0);
        const [lo, hi] = confidenceSequence(s, 0.05, true);
        if (p < lo || p > hi) {
          escaped += 1;
          break;
        }
      }
    }
    expect(escaped / streams).toBeLessThanOrEqual(0.05);
  });

  it('stays inside [0, 1] for bounded rewards and uses the sample variance otherwise', () => {
    const [lo, hi] = confidenceSequence(statsOf([1, 1, 1]), 0.05, true);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBe(1);
    const wide = confidenceSequence(statsOf([0, 100, 50, 20]), 0.05, false);
    const narrow = confidenceSequence(statsOf([50, 51, 50, 51]), 0.05, false);
    expect(wide[1] - wide[0]).toBeGreaterThan(20 * (narrow[1] - narrow[0]));
  });
});

describe('fixed-n intervals for val scores', () => {
  it('Wilson matches a textbook value and never leaves [0, 1]', () => {
    const [lo, hi] = wilsonInterval(0.8, 50);
    expect(lo).toBeCloseTo(0.6696, 3);
    expect(hi).toBeCloseTo(0.8876, 3);
    const [lo1, hi1] = wilsonInterval(1, 3);
    expect(lo1).toBeGreaterThan(0.3);
    expect(hi1).toBe(1);
  });

  it('falls back to a t interval for unbounded rewards, infinite below two observations', () => {
    expect(fixedInterval(statsOf([5]), false)).toEqual([-Infinity, Infinity]);
    const [lo, hi] = fixedInterval(statsOf([4, 6, 5, 5]), false);
    expect(lo).toBeLessThan(5);
    expect(hi).toBeGreaterThan(5);
  });
});
