import { addObservation, emptyStats, mergeStats } from './statistics.js';
import type { RunningStats } from './types.js';

/**
 * Seed-level evidence. Rollouts of one seed are not independent draws: at temperature 0 the same
 * input gives the same answer, so 200 rollouts over 5 seeds carry about 5 observations' worth of
 * evidence, and an interval computed per rollout is far too narrow (the issue measured 1-3%
 * coverage). The unit of evidence is therefore the seed: its rewards are averaged first, and the
 * spread across seed means is what the interval sees. Rewards without a seed are independent as far
 * as we know, and each counts as its own unit (today's per-rollout statistics).
 */

/** A candidate's rewards on one seed (null: the rewards that carried no seed, taken together). */
export interface SeedCell {
  seed: number | null;
  n: number;
  sum: number;
  sumSq: number;
}

export interface ClusteredStats {
  /** One observation per seed (its mean reward) plus one per unseeded reward. */
  stats: RunningStats;
  /** Distinct seeds behind the figure. */
  nSeeds: number;
}

export function clusteredStats(cells: readonly SeedCell[]): ClusteredStats {
  let seeded = emptyStats();
  let unseeded = emptyStats();
  let nSeeds = 0;
  for (const cell of cells) {
    if (cell.n <= 0) continue;
    if (cell.seed === null) {
      // Moments of the individual unseeded rewards, from their sums (clamped: rounding can dip below 0).
      const mean = cell.sum / cell.n;
      unseeded = mergeStats(unseeded, { n: cell.n, mean, m2: Math.max(0, cell.sumSq - cell.n * mean * mean) });
    } else {
      seeded = addObservation(seeded, cell.sum / cell.n);
      nSeeds++;
    }
  }
  return { stats: mergeStats(seeded, unseeded), nSeeds };
}
