import type { Rng } from '../../shared/rng.js';
import { sampleBeta } from './sampling.js';
import type { RunningStats } from './types.js';

/**
 * MIPRO's proposal tips: one style hint per proposal. MIPROv2 draws them uniformly; here a small
 * Thompson bandit learns which tips tend to produce children that beat their parents (the OPTS idea
 * of sampling over prompt-design strategies).
 */

export const TIP_IDS = ['none', 'creative', 'simple', 'description', 'high_stakes', 'persona'] as const;
export type TipId = (typeof TIP_IDS)[number];

export const TIP_TEXTS: Readonly<Record<TipId, string>> = {
  none: '',
  creative: 'Feel free to be inventive: an unexpected framing or strategy may work better than a small edit.',
  simple: 'Keep the instruction short and plain: say only what the model must do, in clear words.',
  description: 'Make the instruction thorough and explanatory: describe the task, what good answers look like, and the pitfalls to avoid.',
  high_stakes: 'Frame the task as one where mistakes are costly, so that the model works carefully and double-checks its answer.',
  persona: 'Open the instruction by giving the model a fitting expert role, in the form "You are a ...".',
};

export function isTipId(value: string): value is TipId {
  return (TIP_IDS as readonly string[]).includes(value);
}

export interface TipRecord {
  successes: number;
  failures: number;
}

export type TipStats = Record<TipId, TipRecord>;

export function initialTipStats(): TipStats {
  return Object.fromEntries(TIP_IDS.map((t) => [t, { successes: 0, failures: 0 }])) as TipStats;
}

/** Thompson draw over Beta(1 + successes, 1 + failures); untried tips explore naturally. */
export function chooseTip(tipStats: TipStats, rng: Rng): TipId {
  let best: TipId = 'none';
  let bestDraw = Number.NEGATIVE_INFINITY;
  for (const tip of TIP_IDS) {
    const r = tipStats[tip];
    const draw = sampleBeta(1 + r.successes, 1 + r.failures, rng);
    if (draw > bestDraw) {
      bestDraw = draw;
      best = tip;
    }
  }
  return best;
}

/** Returns new stats; the input is not modified. */
export function updateTipStats(tipStats: TipStats, tip: TipId, success: boolean): TipStats {
  const r = tipStats[tip];
  return {
    ...tipStats,
    [tip]: success ? { successes: r.successes + 1, failures: r.failures } : { successes: r.successes, failures: r.failures + 1 },
  };
}

/**
 * A tip's verdict once the child has R rewards: did it beat its parent? Null while the child is
 * still too young to judge.
 */
export function tipOutcome(child: RunningStats, parent: RunningStats, R: number): boolean | null {
  if (child.n < Math.max(1, R) || parent.n === 0) return null;
  return child.mean > parent.mean;
}
