import { candidateAlpha } from './retirement.js';
import type { Interval } from './types.js';

/**
 * Informative missingness. A reward that never arrives is not scored (statistics.ts), which is right
 * when rewards go missing at random, and wrong when a candidate drops its reward on exactly the
 * rollouts that failed: its mean is then computed on its successes and it can win by losing rewards.
 * So each candidate's rate of missing rewards is compared with the control's (the baseline), and a
 * candidate that loses significantly more of them is flagged and may not become champion until the
 * gap closes (the test is re-run on every look).
 *
 * The test is looked at after every refresh, so it is anytime-valid: each rate gets a confidence
 * sequence for a Bernoulli mean (the Beta(1, 1) mixture martingale of Robbins, closed under Ville's
 * inequality), and a candidate is flagged while the lower bound of its rate is above the control's
 * upper bound. Each side spends alpha / 2 of the candidate's share of delta, delta / (k (k + 1)) for
 * the k-th candidate as in retirement, so over every candidate and every look the chance of ever
 * flagging one whose rate is not above the control's is at most delta.
 */

/** Rollouts past the in-flight expiry (`due`) and those of them that never got a reward. */
export interface MissingCounts { due: number; missing: number }

export interface MissingCandidate { id: string; isControl: boolean; createdOrder: number; missing: MissingCounts }

export interface MissingVerdict {
  /** missing / due; null before any rollout is due. */
  rate: number | null;
  /** Loses significantly more rewards than the control (never the control itself). */
  flagged: boolean;
}

export const DEFAULT_MISSING_DELTA = 0.05;

/** Lanczos approximation of ln Gamma(x), x > 0 (g = 7, 9 terms; relative error ~1e-15). */
function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Anytime-valid interval for a Bernoulli rate from `k` successes in `n` trials: the p where the
 * uniform-mixture likelihood ratio B(1 + k, 1 + n - k) / (p^k (1 - p)^(n - k)) stays below 1 / alpha.
 * log of that ratio is convex in p with its minimum at k / n, so each end is found by bisection.
 */
export function bernoulliConfidenceSequence(k: number, n: number, alpha: number): Interval {
  if (n <= 0) return [0, 1];
  const f = n - k;
  const logBeta = lnGamma(1 + k) + lnGamma(1 + f) - lnGamma(2 + n);
  const threshold = Math.log(1 / alpha);
  const logRatio = (p: number): number => logBeta - (k > 0 ? k * Math.log(p) : 0) - (f > 0 ? f * Math.log(1 - p) : 0);
  const hat = k / n;
  const root = (inside: number, outside: number): number => {
    if (logRatio(outside) < threshold) return outside;
    let [a, b] = [inside, outside];
    for (let i = 0; i < 60; i++) {
      const mid = (a + b) / 2;
      if (logRatio(mid) < threshold) a = mid;
      else b = mid;
    }
    return a;
  };
  // The ends 0 and 1 stand in for their limits (the ratio is infinite there unless k or f is 0).
  return [root(hat, k > 0 ? 1e-12 : 0), root(hat, f > 0 ? 1 - 1e-12 : 1)];
}

/** Each candidate's missing-reward rate and whether it is flagged against the control. */
export function missingRewardVerdicts(candidates: readonly MissingCandidate[], delta = DEFAULT_MISSING_DELTA): Map<string, MissingVerdict> {
  const control = candidates.find((c) => c.isControl);
  const out = new Map<string, MissingVerdict>();
  for (const c of candidates) {
    const rate = c.missing.due > 0 ? c.missing.missing / c.missing.due : null;
    let flagged = false;
    if (control && !c.isControl && c.missing.due > 0 && control.missing.due > 0) {
      const alpha = candidateAlpha(c.createdOrder, delta) / 2;
      const mine = bernoulliConfidenceSequence(c.missing.missing, c.missing.due, alpha);
      const theirs = bernoulliConfidenceSequence(control.missing.missing, control.missing.due, alpha);
      flagged = mine[0] > theirs[1];
    }
    out.set(c.id, { rate, flagged });
  }
  return out;
}
