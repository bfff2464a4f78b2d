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
 * From this many seeds on, the spread across seeds is estimated well enough to lean on (see
 * `seededStats`); below it every seed is one observation, whatever it was run.
 */
export const DESIGN_EFFECT_MIN_SEEDS = 100;

interface Sums { n: number; sum: number; sumSq: number }

/**
 * Over seeds, with S_i the sum and n_i the count of seed i's rewards: sum of S_i^2, of n_i S_i and
 * of n_i^2 (the cluster-robust variance of the rollout mean, `seededStats`).
 */
interface ClusterSums { s2: number; ns: number; n2: number }

/**
 * The seed-level statistics of the seeded rewards.
 * - Fewer than DESIGN_EFFECT_MIN_SEEDS seeds: the mean of the seed means, worth one observation per
 *   seed. With a few seeds the spread across them is too noisy an estimate to lean on.
 * - From DESIGN_EFFECT_MIN_SEEDS seeds on: the rollout mean with its cluster-robust variance
 *   V = k/(k-1) sum_i (S_i - n_i ybar)^2 / n^2 (the sandwich estimator with one cluster per seed),
 *   worth n_eff = v_rollouts / V observations (at most the rollout count). Where a seed explains
 *   little of a reward (a large pool at temperature > 0) that is close to the rollout count and the
 *   mean weighs every rollout alike, which is the efficient estimate there; where rewards are fixed
 *   per seed (temperature 0) it is close to the seed count. Why not the mean of the seed means with
 *   a design effect (the first version): with seeds run unequally often (1 to 5 times in a pool that
 *   cycles), equal weights per seed throw away evidence even when seeds explain nothing; in the
 *   pipeline-3 benchmark's (b) setting identification fell from 81.7% (per rollout) to 77.3%, and
 *   this estimator gave 82.0% (tuning replicates, docs/optimizer-benchmark.md).
 */
function seededStats(seeds: Sums, rollouts: Sums, cluster: ClusterSums): RunningStats {
  const k = seeds.n;
  if (k < DESIGN_EFFECT_MIN_SEEDS || rollouts.n <= k) {
    const mean = seeds.sum / k;
    return { n: k, mean, m2: Math.max(0, seeds.sumSq - k * mean * mean) };
  }
  const n = rollouts.n;
  const mean = rollouts.sum / n;
  const vRollouts = Math.max(0, rollouts.sumSq - n * mean * mean) / (n - 1);
  // Clamped: rounding can dip below 0.
  const spread = Math.max(0, cluster.s2 - 2 * mean * cluster.ns + mean * mean * cluster.n2);
  const v = (spread * k) / (k - 1) / (n * n);
  if (vRollouts <= 0) return { n: k, mean, m2: 0 };
  const nEff = v > 0 ? Math.min(n, Math.max(1, vRollouts / v)) : n;
  // The per-observation variance stays the rollouts' own; at n_eff observations the mean has variance V.
  return { n: nEff, mean, m2: vRollouts * (nEff - 1) };
}

export interface ClusteredStats {
  /** One observation per seed (its mean reward; from DESIGN_EFFECT_MIN_SEEDS seeds on, the rollout mean at its cluster-robust n_eff) plus one per unseeded reward. */
  stats: RunningStats;
  /** Distinct seeds behind the figure. */
  nSeeds: number;
}

export function clusteredStats(cells: readonly SeedCell[]): ClusteredStats {
  const seeds: Sums = { n: 0, sum: 0, sumSq: 0 };
  const rollouts: Sums = { n: 0, sum: 0, sumSq: 0 };
  const cluster: ClusterSums = { s2: 0, ns: 0, n2: 0 };
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
      addCell(cluster, cell.n, cell.sum, 1);
    }
  }
  return { stats: seeds.n > 0 ? mergeStats(seededStats(seeds, rollouts, cluster), unseeded) : unseeded, nSeeds: seeds.n };
}

/** Adds (sign 1) or removes (sign -1) one seed's cell from the cluster sums. */
function addCell(c: ClusterSums, n: number, sum: number, sign: 1 | -1): void {
  c.s2 += sign * sum * sum;
  c.ns += sign * n * sum;
  c.n2 += sign * n * n;
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
  /** Over the seeded rewards themselves: count, sum, sum of squares (the rollout variance). */
  seededRewards: Sums;
  /** Over seeds: sums of S_i^2, n_i S_i, n_i^2 (the cluster-robust variance). */
  cluster: ClusterSums;
  unseeded: RunningStats;
}

export function newSeedLedger(): SeedLedger {
  return { rewards: 0, cells: new Map(), seeds: { k: 0, sum: 0, sumSq: 0 }, seededRewards: { n: 0, sum: 0, sumSq: 0 }, cluster: { s2: 0, ns: 0, n2: 0 }, unseeded: emptyStats() };
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
    addCell(ledger.cluster, 1, reward, 1);
    s.k += 1;
    s.sum += reward;
    s.sumSq += reward * reward;
    return;
  }
  const before = cell.sum / cell.n;
  addCell(ledger.cluster, cell.n, cell.sum, -1);
  cell.n += 1;
  cell.sum += reward;
  addCell(ledger.cluster, cell.n, cell.sum, 1);
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
    addCell(ledger.cluster, cell.n, cell.sum, 1);
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
  return mergeStats(seededStats({ n: k, sum, sumSq }, ledger.seededRewards, ledger.cluster), ledger.unseeded);
}

/** Mean reward per seed (for pairing two candidates on the seeds they share). */
export function seedMeans(ledger: SeedLedger): Map<number, number> {
  return new Map([...ledger.cells].map(([seed, c]) => [seed, c.sum / c.n]));
}
