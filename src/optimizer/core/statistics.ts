import type { Rng } from '../../shared/rng.js';
import { sampleBeta, sampleNormal } from './sampling.js';
import type { RunningStats } from './types.js';

/**
 * Running moments and per-candidate posteriors. Statistics are updated only when a reward arrives;
 * a missing reward is never scored as 0 (that would punish candidates for the caller's losses).
 */

/**
 * The statistic every decision is made on (selection, retirement, champion, lift, stop rule):
 * the seed-level statistics when the candidate's rewards carried seeds, else its per-reward ones.
 * Gates that count work done ("at least R rewards") keep reading `stats.n`: R rewards over 5 seeds
 * are still R rewards of traffic, but only 5 observations of the population of inputs.
 */
export function evidenceStats(c: { stats: RunningStats; seedStats?: RunningStats | undefined }): RunningStats {
  return c.seedStats ?? c.stats;
}

/**
 * The evidence weighed as the rollouts the job served: the seed-level mean at the rollouts' own count
 * and spread (plain per-rollout statistics when no reward carried a seed). Allocation (Thompson
 * sampling, the identification phase) and the champion's ranking read this; what miprox claims about the task (intervals, lifts, retirement, the stop rule, the guard)
 * reads `evidenceStats`. Why: a seed's difficulty is shared by every candidate served on the job's
 * pool, so it is noise common to all of them when they are compared with each other; the seed-level
 * figure counts it as each candidate's own uncertainty, which is right for an interval about the
 * task but made Thompson sampling and the identification phase keep exploring a champion that had
 * run the whole pool (large-pool benchmark at 10,000 rollouts, tuning replicates: cumulative regret
 * +2-5 against per-rollout allocation, identification about 1 point lower with seed-level ranking;
 * docs/optimizer.md "Which evidence decides what").
 */
export function servedStats(c: { stats: RunningStats; seedStats?: RunningStats | undefined }): RunningStats {
  const evidence = evidenceStats(c);
  // The seed-level mean (with fewer than 100 seeds the mean of seed means, so a candidate that
  // happened to run an easy seed often is not ranked on it), at the rollouts' own count and spread.
  return evidence === c.stats ? c.stats : { n: c.stats.n, mean: evidence.mean, m2: c.stats.m2 };
}

export function emptyStats(): RunningStats {
  return { n: 0, mean: 0, m2: 0 };
}

/** Welford's update: numerically stable, one pass, O(1) state. Returns a new object. */
export function addObservation(s: RunningStats, x: number): RunningStats {
  const n = s.n + 1;
  const delta = x - s.mean;
  const mean = s.mean + delta / n;
  return { n, mean, m2: s.m2 + delta * (x - mean) };
}

/** Chan et al.'s parallel combination, for merging statistics kept in separate places. */
export function mergeStats(a: RunningStats, b: RunningStats): RunningStats {
  if (a.n === 0) return { ...b };
  if (b.n === 0) return { ...a };
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return { n, mean: a.mean + (delta * b.n) / n, m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n };
}

/** Unbiased sample variance; 0 with fewer than two observations. */
export function sampleVariance(s: RunningStats): number {
  return s.n < 2 ? 0 : Math.max(0, s.m2 / (s.n - 1));
}

export function statsOf(xs: readonly number[]): RunningStats {
  return xs.reduce(addObservation, emptyStats());
}

/**
 * Rewards in [0, 1] get a Beta posterior with fractional updates (alpha += r, beta += 1 - r), which
 * is exact for 0/1 rewards and a sensible quasi-likelihood for partial credit. Any other reward
 * scale gets a normal approximation to the posterior of the mean.
 */
export type Posterior =
  | { kind: 'beta'; alpha: number; beta: number }
  | { kind: 'normal'; mean: number; variance: number };

/** Prior for unbounded rewards: a mean and variance with the weight of `weight` observations. */
export interface NormalPrior {
  mean: number;
  variance: number;
  weight: number;
}

export type RewardModel = { kind: 'beta'; alpha0: number; beta0: number } | { kind: 'normal'; prior: NormalPrior };

export const UNIFORM_BETA: RewardModel = { kind: 'beta', alpha0: 1, beta0: 1 };

/**
 * One reward model per job: mixing Beta and normal draws across arms would compare different
 * scales. When any candidate saw a reward outside [0, 1], all of them use the normal model, with
 * a weak prior pooled from every candidate's rewards (one observation's weight).
 */
export function rewardModelFor(candidates: readonly { stats: RunningStats; seedStats?: RunningStats | undefined; unitInterval: boolean }[]): RewardModel {
  if (candidates.every((c) => c.unitInterval)) return UNIFORM_BETA;
  const pooled = candidates.reduce((acc, c) => mergeStats(acc, evidenceStats(c)), emptyStats());
  return { kind: 'normal', prior: { mean: pooled.mean, variance: pooledVariance(candidates.map(evidenceStats)), weight: 1 } };
}

/**
 * The variance of all the job's rewards taken together (1 before there are two distinct rewards):
 * the scale prior for unbounded rewards, whose variance proxy is unknown. Pooled across candidates
 * it also counts the spread between them, so it errs wide, which is the safe side.
 */
export function pooledVariance(stats: readonly RunningStats[]): number {
  const variance = sampleVariance(stats.reduce(mergeStats, emptyStats()));
  return variance > 0 ? variance : 1;
}

export function posteriorOf(stats: RunningStats, model: RewardModel): Posterior {
  if (model.kind === 'beta') {
    const successes = stats.n * stats.mean;
    return { kind: 'beta', alpha: model.alpha0 + successes, beta: model.beta0 + (stats.n - successes) };
  }
  const { prior } = model;
  const weight = prior.weight + stats.n;
  const mean = (prior.weight * prior.mean + stats.n * stats.mean) / weight;
  // The prior contributes `weight` pseudo-observations at its variance, so a single reward or a run
  // of identical rewards still leaves honest uncertainty.
  const noise = (stats.m2 + prior.weight * prior.variance) / weight;
  return { kind: 'normal', mean, variance: noise / weight };
}

export function posteriorMean(p: Posterior): number {
  return p.kind === 'beta' ? p.alpha / (p.alpha + p.beta) : p.mean;
}

export function samplePosterior(p: Posterior, rng: Rng): number {
  return p.kind === 'beta' ? sampleBeta(p.alpha, p.beta, rng) : sampleNormal(p.mean, Math.sqrt(p.variance), rng);
}

/**
 * One Thompson draw: sample each candidate's posterior and return the one with the highest draw
 * (the first on ties; undefined for an empty list). `model` is shared so all candidates are judged
 * under the same prior.
 */
export function thompsonDraw<C extends { stats: RunningStats; seedStats?: RunningStats | undefined }>(
  candidates: readonly C[],
  model: RewardModel,
  rng: Rng,
  evidenceOf: (c: C) => RunningStats = evidenceStats,
): C | undefined {
  let best: C | undefined;
  let bestDraw = Number.NEGATIVE_INFINITY;
  for (const c of candidates) {
    const draw = samplePosterior(posteriorOf(evidenceOf(c), model), rng);
    if (draw > bestDraw) {
      bestDraw = draw;
      best = c;
    }
  }
  return best;
}
