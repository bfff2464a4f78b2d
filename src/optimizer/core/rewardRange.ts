import { confidenceSequence, fixedInterval } from './confidence.js';
import type { Interval, RunningStats } from './types.js';

/**
 * The job's declared reward range (`mipro.reward_range`). Every statistic is computed on rewards
 * rescaled to [0, 1] by this range: a bounded range is what makes an interval valid for any reward
 * distribution inside it (Hoeffding's lemma gives the variance proxy 1/4 of the rescaled reward),
 * whereas a sample variance plugged into a normal interval misses badly on heavy tails (a rare
 * large reward is absent from most samples, so their variance says nothing about it). Reported
 * figures are mapped back to the job's own units.
 */
export type RewardRange = readonly [number, number];

export const UNIT_RANGE: RewardRange = [0, 1];

const width = ([lo, hi]: RewardRange): number => hi - lo;

/** Running moments of the rescaled rewards (x - lo) / (hi - lo): the mean shifts and scales, M2 scales by width². */
export function toUnitStats(s: RunningStats, range: RewardRange): RunningStats {
  const w = width(range);
  return { n: s.n, mean: s.n > 0 ? (s.mean - range[0]) / w : 0, m2: s.m2 / (w * w) };
}

/** A rescaled interval of a mean, back in the job's units. */
export function intervalFromUnit([a, b]: Interval, range: RewardRange): Interval {
  const w = width(range);
  return [range[0] + a * w, range[0] + b * w];
}

/** A rescaled interval of a difference of means (no offset), back in the job's units. */
export function differenceFromUnit([a, b]: Interval, range: RewardRange): Interval {
  const w = width(range);
  return [a * w, b * w];
}

/** A rescaled val reward per seed (for pairing), in [0, 1]. */
export function toUnitBySeed(bySeed: Readonly<Record<number, number>>, range: RewardRange): Record<number, number> {
  const w = width(range);
  return Object.fromEntries(Object.entries(bySeed).map(([seed, x]) => [seed, (x - range[0]) / w]));
}

export function inRange(reward: number, [lo, hi]: RewardRange): boolean {
  return reward >= lo && reward <= hi;
}

/** Anytime-valid interval of an online mean (normal-mixture sequence on the rescaled rewards). */
export function onlineInterval(s: RunningStats, alpha: number, range: RewardRange): Interval {
  return intervalFromUnit(confidenceSequence(toUnitStats(s, range), alpha, true), range);
}

/**
 * Fixed-n interval of a val mean: Wilson on the rescaled rewards. Valid beyond 0/1 rewards because
 * a reward in [0, 1] with mean p has variance at most p (1 - p), the Bernoulli variance Wilson
 * assumes; test/unit/optimizer/rewardRange.test.ts measures it on heavy-tailed and lognormal rewards.
 */
export function valInterval(s: RunningStats, alpha: number, range: RewardRange): Interval {
  return intervalFromUnit(fixedInterval(toUnitStats(s, range), true, alpha), range);
}
