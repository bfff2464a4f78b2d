import { confidenceSequence, csRadius, fixedInterval, guardedVariance, tQuantile, type UnboundedOptions } from './confidence.js';
import { emptyStats, evidenceStats, mergeStats, pooledVariance, posteriorMean, posteriorOf, servedStats, statsOf, type RewardModel } from './statistics.js';
import type { CandidateView, Interval, RunningStats } from './types.js';
import { contemporaneousSeeds, type RunTimes } from './valPairs.js';

/**
 * The champion and the honest numbers reported about it. Picking the raw maximum of noisy means
 * overstates the winner (the winner's curse), so the champion is the best *shrunken* mean: each
 * candidate's rewards are pooled with a prior centred on the job-wide mean, worth `priorStrength`
 * rewards (default 50). For 0/1 rewards near 0.7 that prior says candidates usually differ from the
 * job mean by about sqrt(0.21 / 51) = 6 points, which is what instruction variants tend to do. A
 * candidate with 10 lucky rewards is pulled most of the way back; one with a thousand barely moves.
 */

export type ChampionCandidate = Pick<CandidateView, 'id' | 'isControl' | 'status' | 'createdOrder' | 'stats' | 'seedStats' | 'unitInterval'>;

export interface ChampionOptions {
  /** Weight of the shrinkage prior, in rewards. Default 50. */
  priorStrength?: number;
  /**
   * Candidates that may not be ranked (so neither champion nor confirmed): those losing significantly
   * more rewards than the control (missingRewards.ts), whose mean is computed on a biased subset.
   */
  excluded?: ReadonlySet<string>;
}

export const DEFAULT_PRIOR_STRENGTH = 50;

/** The job-wide shrinkage prior: centred on the pooled mean of every candidate's rewards. */
export function shrinkageModel(candidates: readonly ChampionCandidate[], strength: number): RewardModel {
  const pooled = candidates.reduce((acc, c) => mergeStats(acc, evidenceStats(c)), emptyStats());
  const k = Math.max(strength, 1e-9);
  if (candidates.every((c) => c.unitInterval)) {
    const m = pooled.n > 0 ? Math.min(0.99, Math.max(0.01, pooled.mean)) : 0.5;
    return { kind: 'beta', alpha0: k * m, beta0: k * (1 - m) };
  }
  return { kind: 'normal', prior: { mean: pooled.mean, variance: pooledVariance(candidates.map(evidenceStats)), weight: k } };
}

/** Shrunken mean of each candidate, by id. */
export function shrunkenMeans(candidates: readonly ChampionCandidate[], opts: ChampionOptions = {}): Map<string, number> {
  const model = shrinkageModel(candidates, opts.priorStrength ?? DEFAULT_PRIOR_STRENGTH);
  // At the rollouts' weight: ranking compares candidates on the job's own traffic (statistics.ts `servedStats`);
  // the champion's interval and lift stay seed-level.
  return new Map(candidates.map((c) => [c.id, posteriorMean(posteriorOf(servedStats(c), model))]));
}

/** Active candidates with at least R rewards, best shrunken mean first (ties: older first). */
export function rankCandidates(candidates: readonly ChampionCandidate[], R: number, opts: ChampionOptions = {}): ChampionCandidate[] {
  const means = shrunkenMeans(candidates, opts);
  return candidates
    .filter((c) => c.status === 'active' && c.stats.n >= Math.max(1, R) && !opts.excluded?.has(c.id))
    .sort((a, b) => (means.get(b.id) ?? 0) - (means.get(a.id) ?? 0) || a.createdOrder - b.createdOrder);
}

/** The champion's id: the best ranked candidate, else the control; null without candidates. */
export function pickChampion(candidates: readonly ChampionCandidate[], R: number, opts: ChampionOptions = {}): string | null {
  const best = rankCandidates(candidates, R, opts)[0];
  return best?.id ?? candidates.find((c) => c.isControl)?.id ?? null;
}

/**
 * Who to confirm on val seeds: the champion, the control and the runner-up — only once a champion
 * other than the control has R rewards (before that there is nothing to confirm).
 */
export function confirmationTargets(candidates: readonly ChampionCandidate[], R: number, opts: ChampionOptions = {}): string[] {
  const ranked = rankCandidates(candidates, R, opts);
  const champion = ranked[0];
  const control = candidates.find((c) => c.isControl);
  if (!champion || !control || champion.id === control.id) return [];
  const runnerUp = ranked.find((c) => c.id !== champion.id && c.id !== control.id);
  return [champion.id, control.id, ...(runnerUp ? [runnerUp.id] : [])];
}

export interface ScoredCandidate {
  /** Online rewards. */
  stats: RunningStats;
  /** Online rewards at seed level (seedClusters.ts); absent when none carried a seed. */
  seedStats?: RunningStats | undefined;
  /** Val rewards (held-out seeds). */
  val: RunningStats;
  unitInterval: boolean;
}

export interface BestScore {
  score: number | null;
  ci: Interval | null;
  source: 'val' | 'online' | null;
}

/**
 * best_score: the val mean with a fixed-n interval when the champion has val rollouts (val seeds
 * played no part in choosing it, so that interval is unbiased); else the online mean with its
 * anytime-valid interval; nulls before any reward. Unbounded rewards need two val rewards for a
 * variance, so one val reward is not enough there.
 */
export function bestScore(champion: ScoredCandidate | null, alpha = 0.05, opts: UnboundedOptions = {}): BestScore {
  if (!champion) return { score: null, ci: null, source: null };
  if (champion.val.n >= (champion.unitInterval ? 1 : 2)) {
    return { score: champion.val.mean, ci: fixedInterval(champion.val, champion.unitInterval, alpha, opts), source: 'val' };
  }
  const online = evidenceStats(champion);
  if (online.n > 0) {
    return { score: online.mean, ci: confidenceSequence(online, alpha, champion.unitInterval, opts), source: 'online' };
  }
  return { score: null, ci: null, source: null };
}

export interface LiftSide extends ScoredCandidate {
  /** Val reward per val seed (averaged by the caller if a seed was run twice). */
  valBySeed?: Readonly<Record<number, number>>;
  /**
   * When each val seed was dispatched to this side (rewarded or not), as any numbers that order the
   * runs. Given on both sides, only contemporaneous runs pair (valPairs.ts) and the val comparison
   * uses nothing else; absent, every shared seed pairs (no drift assumed).
   */
  valAtBySeed?: RunTimes;
  /** Online mean reward per seed (seedClusters.ts `seedMeans`): pairs the online lift on shared seeds. */
  onlineBySeed?: ReadonlyMap<number, number>;
}

export interface Lift {
  lift: number;
  ci: Interval;
  /** True when computed from differences on the same val seeds. */
  paired: boolean;
  source: 'val' | 'online';
  /** Pairs (paired) or the smaller of the two sample sizes (unpaired). */
  n: number;
  /** The interval excludes 0 from below: a significant improvement. */
  significant: boolean;
}

/**
 * Champion minus control. Paired on val seeds when both ran at least two of the same seeds (seed
 * difficulty cancels out, so the interval is much tighter); given run times, only seeds both ran at
 * the same time count (valPairs.ts). Unpaired on val otherwise, unless run times were given: then
 * the two val means were taken at different times and differ by any drift in between. On online
 * rewards as a last resort, where each side gets an anytime-valid radius at alpha / 2 because
 * online means were looked at repeatedly and used to choose the champion. Null without data.
 */
export function liftOverControl(champion: LiftSide, control: LiftSide, alpha = 0.05): Lift | null {
  const unit = champion.unitInterval && control.unitInterval;
  // One pseudo-observation joins each variance, so a handful of identical values cannot give a
  // zero-width (falsely significant) interval: 1/4 for [0, 1] rewards; for unbounded ones the
  // variance of both sides' rewards (a difference of two rewards has twice it).
  const prior = unit ? 0 : pooledVariance([champion.stats, champion.val, control.stats, control.val]);
  const varianceOf = (s: RunningStats, difference = false): number =>
    unit ? (s.m2 + 0.25) / s.n : guardedVariance(s, difference ? 2 * prior : prior);
  const timed = champion.valAtBySeed !== undefined && control.valAtBySeed !== undefined;
  const paired = pairedDifferences(champion.valBySeed, control.valBySeed, timed ? contemporaneousSeeds(champion.valAtBySeed!, control.valAtBySeed!) : null);
  if (paired.length >= 2) {
    const d = statsOf(paired);
    const half = tQuantile(1 - alpha / 2, d.n - 1) * Math.sqrt(varianceOf(d, true) / d.n);
    return lift(d.mean, [d.mean - half, d.mean + half], true, 'val', d.n, unit);
  }
  if (!timed && champion.val.n >= 2 && control.val.n >= 2) {
    const diff = champion.val.mean - control.val.mean;
    const se = Math.sqrt(varianceOf(champion.val) / champion.val.n + varianceOf(control.val) / control.val.n);
    const half = tQuantile(1 - alpha / 2, Math.min(champion.val.n, control.val.n) - 1) * se;
    return lift(diff, [diff - half, diff + half], false, 'val', Math.min(champion.val.n, control.val.n), unit);
  }
  const a = evidenceStats(champion);
  const b = evidenceStats(control);
  if (a.n === 0 || b.n === 0) return null;
  const radius = (s: RunningStats): number =>
    unit ? csRadius(s.n, alpha / 2) : (confidenceSequence(s, alpha / 2, false, { priorVariance: prior })[1] - s.mean);
  const half = radius(a) + radius(b);
  const onlinePairs = unit ? sharedSeedDifferences(champion.onlineBySeed, control.onlineBySeed) : [];
  // Paired by seed when both ran the same seeds: a difference of two [0, 1] means lies in [-1, 1]
  // (variance proxy 1), and the sequence stays valid under the repeated looks and the choice of the
  // champion on these same rewards. Used only when its radius, which depends on the seed counts
  // alone, is the narrower: with few shared seeds among many unshared ones the unpaired one is.
  if (onlinePairs.length >= 2 && csRadius(onlinePairs.length, alpha, { variance: 1 }) < half) {
    const d = statsOf(onlinePairs);
    const pairedHalf = csRadius(d.n, alpha, { variance: 1 });
    return lift(d.mean, [d.mean - pairedHalf, d.mean + pairedHalf], true, 'online', d.n, unit);
  }
  const diff = a.mean - b.mean;
  return lift(diff, [diff - half, diff + half], false, 'online', Math.min(a.n, b.n), unit);
}

/** Per-seed differences on the seeds both sides ran (in the first side's seed order: deterministic). */
function sharedSeedDifferences(a?: ReadonlyMap<number, number>, b?: ReadonlyMap<number, number>): number[] {
  if (!a || !b) return [];
  const out: number[] = [];
  for (const [seed, x] of a) {
    const y = b.get(seed);
    if (y !== undefined) out.push(x - y);
  }
  return out;
}

function lift(value: number, ci: Interval, paired: boolean, source: 'val' | 'online', n: number, unit: boolean): Lift {
  // A difference of two [0, 1] means lies in [-1, 1]; a t interval on a few pairs can overshoot it.
  const bounded: Interval = unit ? [Math.max(-1, ci[0]), Math.min(1, ci[1])] : ci;
  return { lift: value, ci: bounded, paired, source, n, significant: bounded[0] > 0 };
}

/** Differences on the val seeds both sides were rewarded on; `only`: among these seeds alone. */
function pairedDifferences(a: Readonly<Record<number, number>> | undefined, b: Readonly<Record<number, number>> | undefined, only: readonly number[] | null): number[] {
  if (!a || !b) return [];
  const out: number[] = [];
  for (const seed of only ?? Object.keys(a).map(Number)) {
    const x = a[seed];
    const y = b[seed];
    if (x !== undefined && y !== undefined) out.push(x - y);
  }
  return out;
}
