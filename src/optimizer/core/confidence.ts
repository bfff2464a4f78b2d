import type { Interval, RunningStats } from './types.js';

/**
 * Confidence intervals of two kinds:
 * - anytime-valid confidence sequences for online means, which the optimizer looks at after every
 *   reward (a fixed-n interval checked repeatedly would be wrong far more often than alpha);
 * - plain fixed-n intervals for held-out val scores, which are computed once per look on seeds
 *   that played no part in choosing the candidate.
 */

/** Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile needs 0 < p < 1, got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * Student t quantile: exact for 1 and 2 degrees of freedom, otherwise the Cornish-Fisher expansion
 * (Abramowitz & Stegun 26.7.5), accurate to about 0.01 at df = 3 and far better beyond.
 */
export function tQuantile(p: number, df: number): number {
  if (df <= 1) return Math.tan(Math.PI * (p - 0.5));
  if (df <= 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  const z = normalQuantile(p);
  const z2 = z * z;
  const g1 = (z2 + 1) * z / 4;
  const g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
  const g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
  const g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
  return z + g1 / df + g2 / df ** 2 + g3 / df ** 3 + g4 / df ** 4;
}

export interface ConfidenceSequenceOptions {
  /** Variance proxy of one observation: 1/4 for rewards in [0, 1] (Hoeffding's lemma). */
  variance?: number;
  /** Sample size at which the boundary is tightest; it stays valid at every n. */
  tuneAt?: number;
}

/**
 * For rewards not known to lie in [0, 1]: the scale of one reward's variance before the data says
 * otherwise (`pooledVariance` of the job's rewards). Default 1.
 */
export interface UnboundedOptions {
  priorVariance?: number;
}

/**
 * Variance estimate for rewards not known to lie in [0, 1]: the sum of squares plus one
 * pseudo-observation at the prior variance. Without it, three rewards of 4 against three of 3 on a
 * 1-5 scale have sample variance 0, and a candidate would be retired (or a lift called significant)
 * at once. It tends to the sample variance as n grows.
 */
export function guardedVariance(stats: RunningStats, priorVariance = 1): number {
  return stats.n <= 0 ? Number.POSITIVE_INFINITY : (stats.m2 + priorVariance) / stats.n;
}

export const DEFAULT_CS_TUNE_AT = 100;

/**
 * Half-width of a two-sided normal-mixture confidence sequence (Robbins 1970; Howard et al. 2021,
 * "Time-uniform, nonparametric, nonasymptotic confidence sequences"): with probability >= 1 - alpha
 * the running mean stays within this radius of the true mean at every n simultaneously, for
 * sub-Gaussian observations with the given variance proxy. Each side uses alpha / 2.
 */
export function csRadius(n: number, alpha: number, opts: ConfidenceSequenceOptions = {}): number {
  if (n <= 0) return Number.POSITIVE_INFINITY;
  const variance = opts.variance ?? 0.25;
  const intrinsicTime = variance * n;
  const logInv = Math.log(2 / alpha);
  // Mixture variance that minimises the boundary at `tuneAt` (Howard et al., eq. for the optimal rho).
  const rho = (variance * (opts.tuneAt ?? DEFAULT_CS_TUNE_AT)) / (2 * logInv + Math.log(1 + 2 * logInv));
  const spread = intrinsicTime + rho;
  return Math.sqrt(2 * spread * (logInv + 0.5 * Math.log(spread / rho))) / n;
}

/** Anytime-valid interval for the mean of a reward stream. */
export function confidenceSequence(
  stats: RunningStats,
  alpha: number,
  unitInterval: boolean,
  opts: UnboundedOptions & { tuneAt?: number } = {},
): Interval {
  if (stats.n === 0) return unitInterval ? [0, 1] : [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  // Unbounded rewards: a guarded estimate stands in for the unknown variance proxy (an
  // approximation, not a guarantee).
  const variance = unitInterval ? 0.25 : guardedVariance(stats, opts.priorVariance);
  const r = csRadius(stats.n, alpha, { variance, tuneAt: opts.tuneAt ?? DEFAULT_CS_TUNE_AT });
  return unitInterval ? clampUnit([stats.mean - r, stats.mean + r]) : [stats.mean - r, stats.mean + r];
}

/**
 * Wilson score interval for a mean of rewards in [0, 1]. Exact-ish for 0/1 rewards and conservative
 * for partial credit (whose variance is at most mean * (1 - mean)); good coverage at small n,
 * unlike the Wald interval, and never outside [0, 1].
 */
export function wilsonInterval(mean: number, n: number, alpha = 0.05): Interval {
  if (n <= 0) return [0, 1];
  const z = normalQuantile(1 - alpha / 2);
  const z2n = (z * z) / n;
  const p = Math.min(1, Math.max(0, mean));
  const center = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n))) / (1 + z2n);
  return clampUnit([center - half, center + half]);
}

/** Student t interval from running moments (guarded variance); infinite with fewer than two observations. */
export function tInterval(stats: RunningStats, alpha = 0.05, opts: UnboundedOptions = {}): Interval {
  if (stats.n < 2) return [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  const half = tQuantile(1 - alpha / 2, stats.n - 1) * Math.sqrt(guardedVariance(stats, opts.priorVariance) / stats.n);
  return [stats.mean - half, stats.mean + half];
}

/** The fixed-n interval used for val scores: Wilson for [0, 1] rewards, Student t otherwise. */
export function fixedInterval(stats: RunningStats, unitInterval: boolean, alpha = 0.05, opts: UnboundedOptions = {}): Interval {
  return unitInterval ? wilsonInterval(stats.mean, stats.n, alpha) : tInterval(stats, alpha, opts);
}

function clampUnit([lo, hi]: Interval): Interval {
  return [Math.max(0, lo), Math.min(1, hi)];
}
