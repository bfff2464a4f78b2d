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

/**
 * From this many seeds on, the spread of the seed means is estimated well enough to weigh them by
 * it (see `seededStats`); below it every seed is one observation, whatever it was run.
 */
export const DESIGN_EFFECT_MIN_SEEDS = 100;

interface Sums { n: number; sum: number; sumSq: number }

/**
 * The seed-level statistics of the seeded rewards: the mean of the seed means, worth one
 * observation per seed. With many seeds (>= DESIGN_EFFECT_MIN_SEEDS) the worth is the cluster
 * design effect instead: the mean of seed means has variance v_seeds / k, which a rollout-scale
 * variance v_rollouts matches at n_eff = k v_rollouts / v_seeds observations, kept between k and the
 * number of rollouts. In a large pool, where a seed explains little of a reward and each seed ran a
 * few times, that is close to the rollout count (per-seed counting there would throw away half the
 * evidence of a candidate that ran each seed twice); with a few seeds repeated at temperature 0 the
 * seed means vary as much as single rewards and n_eff is k. Small pools never get more than k: their
 * spread is too noisy an estimate to lean on.
 */
function seededStats(seeds: Sums, rollouts: Sums): RunningStats {
  const k = seeds.n;
  const mean = seeds.sum / k;
  const m2 = Math.max(0, seeds.sumSq - k * mean * mean);
  if (k < DESIGN_EFFECT_MIN_SEEDS || rollouts.n <= k || m2 <= 0) return { n: k, mean, m2 };
  const vSeeds = m2 / (k - 1);
  const rolloutMean = rollouts.sum / rollouts.n;
  const vRollouts = Math.max(0, rollouts.sumSq - rollouts.n * rolloutMean * rolloutMean) / (rollouts.n - 1);
  const nEff = Math.min(rollouts.n, Math.max(k, (k * vRollouts) / vSeeds));
  // The per-observation variance that gives the mean of seed means its variance at nEff observations.
  return { n: nEff, mean, m2: ((vSeeds * k) / nEff) * (nEff - 1) };
}

export interface ClusteredStats {
  /** One observation per seed (its mean reward; with many seeds, weighed by the design effect) plus one per unseeded reward. */
  stats: RunningStats;
  /** Distinct seeds behind the figure. */
  nSeeds: number;
}

export function clusteredStats(cells: readonly SeedCell[]): ClusteredStats {
  const seeds: Sums = { n: 0, sum: 0, sumSq: 0 };
  const rollouts: Sums = { n: 0, sum: 0, sumSq: 0 };
  let unseeded = emptyStats();
  for (const cell of cells) {
    if (cell.n <= 0) continue;
    if (cell.seed === null) {
      // Moments of the individual unseeded rewards, from their sums (clamped: rounding can dip below 0).
      const mean = cell.sum / cell.n;
      unseeded = mergeStats(unseeded, { n: cell.n, mean, m2: Math.max(0, cell.sumSq - cell.n * mean * mean) });
    } else {
      const m = cell.sum / cell.n;
      seeds.n += 1;
      seeds.sum += m;
      seeds.sumSq += m * m;
      rollouts.n += cell.n;
      rollouts.sum += cell.sum;
      rollouts.sumSq += cell.sumSq;
    }
  }
  return { stats: seeds.n > 0 ? mergeStats(seededStats(seeds, rollouts), unseeded) : unseeded, nSeeds: seeds.n };
}

/**
 * Seed-level statistics kept up to date one reward at a time (the runner and the simulator apply
 * every reward, and must stay O(1) per reward). Per seed: count and sum of its rewards; over seeds:
 * the count, sum and sum of squares of the seed means, so a seed whose mean moves is replaced in
 * O(1). Unseeded rewards keep their own Welford moments (each is its own unit). Mutated in place by
 * `addSeedReward` (no clock, no randomness: still deterministic).
 */
export interface SeedLedger {
  /** Rewards recorded (seeded and not): compared with the stored count to tell a stale ledger. */
  rewards: number;
  cells: Map<number, { n: number; sum: number }>;
  /** Over seed means: count, sum, sum of squares. */
  seeds: { k: number; sum: number; sumSq: number };
  /** Over the seeded rewards themselves: count, sum, sum of squares (the design effect's rollout variance). */
  seededRewards: Sums;
  unseeded: RunningStats;
}

export function newSeedLedger(): SeedLedger {
  return { rewards: 0, cells: new Map(), seeds: { k: 0, sum: 0, sumSq: 0 }, seededRewards: { n: 0, sum: 0, sumSq: 0 }, unseeded: emptyStats() };
}

export function addSeedReward(ledger: SeedLedger, seed: number | null, reward: number): void {
  ledger.rewards += 1;
  if (seed === null) {
    ledger.unseeded = addObservation(ledger.unseeded, reward);
    return;
  }
  const r = ledger.seededRewards;
  r.n += 1;
  r.sum += reward;
  r.sumSq += reward * reward;
  const cell = ledger.cells.get(seed);
  const s = ledger.seeds;
  if (!cell) {
    ledger.cells.set(seed, { n: 1, sum: reward });
    s.k += 1;
    s.sum += reward;
    s.sumSq += reward * reward;
    return;
  }
  const before = cell.sum / cell.n;
  cell.n += 1;
  cell.sum += reward;
  const after = cell.sum / cell.n;
  s.sum += after - before;
  s.sumSq += after * after - before * before;
}

/** A ledger rebuilt from stored cells (the runner's refresh; onlineSeedCells). */
export function ledgerFromCells(cells: readonly SeedCell[]): SeedLedger {
  const ledger = newSeedLedger();
  for (const cell of cells) {
    if (cell.n <= 0) continue;
    ledger.rewards += cell.n;
    if (cell.seed === null) {
      const mean = cell.sum / cell.n;
      ledger.unseeded = mergeStats(ledger.unseeded, { n: cell.n, mean, m2: Math.max(0, cell.sumSq - cell.n * mean * mean) });
      continue;
    }
    const m = cell.sum / cell.n;
    ledger.seededRewards.n += cell.n;
    ledger.seededRewards.sum += cell.sum;
    ledger.seededRewards.sumSq += cell.sumSq;
    ledger.cells.set(cell.seed, { n: cell.n, sum: cell.sum });
    ledger.seeds.k += 1;
    ledger.seeds.sum += m;
    ledger.seeds.sumSq += m * m;
  }
  return ledger;
}

/**
 * The ledger's seed-level statistics (as `clusteredStats`), or undefined while no reward carried a
 * seed: per-reward statistics then apply unchanged.
 */
export function ledgerStats(ledger: SeedLedger): RunningStats | undefined {
  const { k, sum, sumSq } = ledger.seeds;
  if (k === 0) return undefined;
  return mergeStats(seededStats({ n: k, sum, sumSq }, ledger.seededRewards), ledger.unseeded);
}

/** Mean reward per seed (for pairing two candidates on the seeds they share). */
export function seedMeans(ledger: SeedLedger): Map<number, number> {
  return new Map([...ledger.cells].map(([seed, c]) => [seed, c.sum / c.n]));
}
