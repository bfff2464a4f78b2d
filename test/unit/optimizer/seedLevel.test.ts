import { describe, expect, it } from 'vitest';
import { createSeededRng } from '../../../src/shared/rng.js';
import {
  addSeedReward, clusteredStats, ledgerFromCells, ledgerStats, newSeedLedger, seedMeans, type SeedCell, type SeedLedger,
} from '../../../src/optimizer/core/seedClusters.js';
import { evidenceStats, servedStats, statsOf, thompsonDraw } from '../../../src/optimizer/core/statistics.js';
import { bestScore, liftOverControl, pickChampion } from '../../../src/optimizer/core/champion.js';
import { candidatesToRetire } from '../../../src/optimizer/core/retirement.js';
import { identificationPick } from '../../../src/optimizer/core/selection.js';
import { csRadius } from '../../../src/optimizer/core/confidence.js';
import { UNIFORM_BETA } from '../../../src/optimizer/core/statistics.js';
import type { CandidateView } from '../../../src/optimizer/core/types.js';
import { candidate } from './helpers.js';

/**
 * Seed-level inference in the decisions themselves (issue 12): when rewards carry seeds, retirement,
 * the intervals and the lift count seeds, not rollouts; allocation and the champion's ranking take
 * the seed-level mean at the rollouts' own weight (statistics.ts `servedStats`). Each test builds the case the
 * per-rollout statistics of main got wrong (repeated rollouts of a few seeds taken as independent
 * evidence) and checks the decision now follows the seeds.
 */

type Reward = readonly [seed: number | null, reward: number];

function ledgerOf(rewards: readonly Reward[]): SeedLedger {
  const ledger = newSeedLedger();
  for (const [seed, r] of rewards) addSeedReward(ledger, seed, r);
  return ledger;
}

/** A candidate view whose rewards carry seeds: per-rollout `stats` and seed-level `seedStats`. */
function seeded(id: string, rewards: readonly Reward[], over: Partial<CandidateView> = {}): CandidateView {
  return candidate(id, { rewards: rewards.map(([, r]) => r), seedStats: ledgerStats(ledgerOf(rewards)), ...over });
}

/** `n` rollouts cycling over seeds 0..k-1, where seed s always gives perSeed[s] (temperature 0). */
const cycle = (n: number, perSeed: readonly number[]): Reward[] => Array.from({ length: n }, (_, i) => [i % perSeed.length, perSeed[i % perSeed.length]!] as const);

describe('seed ledger (incremental seed-level statistics)', () => {
  it('matches the batch clusteredStats after every reward, seeded and unseeded mixed', () => {
    const rng = createSeededRng(7);
    const ledger = newSeedLedger();
    const cells = new Map<number | null, SeedCell>();
    for (let i = 0; i < 500; i++) {
      const seed = rng.next() < 0.2 ? null : Math.floor(rng.next() * 12);
      const r = rng.next() < 0.3 ? 1 : rng.next();
      addSeedReward(ledger, seed, r);
      const c = cells.get(seed) ?? { seed, n: 0, sum: 0, sumSq: 0 };
      cells.set(seed, { seed, n: c.n + 1, sum: c.sum + r, sumSq: c.sumSq + r * r });
      const batch = clusteredStats([...cells.values()]).stats;
      const live = ledgerStats(ledger);
      if (ledger.seeds.k === 0) continue;
      expect(live!.n).toBe(batch.n);
      expect(live!.mean).toBeCloseTo(batch.mean, 10);
      expect(live!.m2).toBeCloseTo(batch.m2, 8);
    }
    const rebuilt = ledgerStats(ledgerFromCells([...cells.values()]))!;
    expect(rebuilt.mean).toBeCloseTo(ledgerStats(ledger)!.mean, 10);
    expect(ledgerFromCells([...cells.values()]).rewards).toBe(500);
  });

  it('weighs many seeds by the design effect: near the rollout count when seeds explain little, the seed count at temperature 0', () => {
    const rng = createSeededRng(11);
    // 1,000 seeds run twice each, rewards independent of the seed: worth nearly 2,000 observations.
    const independent: Reward[] = Array.from({ length: 2000 }, (_, i) => [i % 1000, rng.next() < 0.5 ? 1 : 0] as const);
    const loose = ledgerStats(ledgerOf(independent))!;
    expect(loose.n).toBeGreaterThan(1600);
    expect(loose.n).toBeLessThanOrEqual(2000);
    // 200 seeds at temperature 0, each run ten times: as much evidence as 200 observations (the
    // cluster-robust variance's small-sample factors k/(k-1) and n-1 move it by under 1%).
    const fixed = Array.from({ length: 200 }, () => (rng.next() < 0.5 ? 1 : 0));
    const repeated: Reward[] = Array.from({ length: 2000 }, (_, i) => [i % 200, fixed[i % 200]!] as const);
    expect(Math.abs(ledgerStats(ledgerOf(repeated))!.n - 200)).toBeLessThan(2);
    // Seeds run unequally often (1 to 3 times), rewards independent of the seed: every rollout counts
    // (the mean of seed means would weigh a seed run once like one run three times).
    const uneven: Reward[] = Array.from({ length: 1000 }, (_, i) => i % 500).flatMap((seed) =>
      Array.from({ length: 1 + (seed % 3) }, () => [seed, rng.next() < 0.5 ? 1 : 0] as const));
    const unevenStats = ledgerStats(ledgerOf(uneven))!;
    expect(unevenStats.n).toBeGreaterThan(0.85 * uneven.length);
    expect(unevenStats.mean).toBeCloseTo(uneven.reduce((a, [, r]) => a + r, 0) / uneven.length, 12);
    // Fewer than DESIGN_EFFECT_MIN_SEEDS seeds: one observation each, however independent the rewards.
    const few: Reward[] = Array.from({ length: 2000 }, (_, i) => [i % 50, rng.next() < 0.5 ? 1 : 0] as const);
    expect(ledgerStats(ledgerOf(few))!.n).toBe(50);
    // The batch form (stored cells, used by the views) agrees with the ledger.
    const cells = new Map<number, SeedCell>();
    for (const [seed, r] of independent) {
      const c = cells.get(seed!) ?? { seed, n: 0, sum: 0, sumSq: 0 };
      cells.set(seed!, { seed, n: c.n + 1, sum: c.sum + r, sumSq: c.sumSq + r * r });
    }
    expect(clusteredStats([...cells.values()]).stats.n).toBeCloseTo(loose.n, 6);
  });

  it('has no seed-level statistics while no reward carried a seed (per-rollout statistics apply)', () => {
    const ledger = ledgerOf([[null, 1], [null, 0], [null, 1]]);
    expect(ledgerStats(ledger)).toBeUndefined();
    const c = candidate('c', { rewards: [1, 0, 1] });
    expect(evidenceStats(c)).toBe(c.stats);
  });
});

describe('decisions count seeds, not rollouts', () => {
  it('best_score: 200 rollouts of 5 seeds give an interval as wide as 5 observations', () => {
    const c = seeded('baseline', cycle(200, [1, 1, 0, 1, 0]));
    const score = bestScore({ ...c, val: { n: 0, mean: 0, m2: 0 } });
    expect(score.source).toBe('online');
    expect(score.score).toBeCloseTo(0.6, 12);
    const half = (score.ci![1] - score.ci![0]) / 2;
    // Clamped to [0, 1], so at least as wide as the 5-observation radius allows inside it.
    expect(Math.min(half, 0.6)).toBeGreaterThanOrEqual(Math.min(csRadius(5, 0.05), 0.4) - 1e-9);
    // Per rollout it would have been the 200-observation radius: far narrower.
    expect(csRadius(200, 0.05)).toBeLessThan(0.25);
  });

  it('retirement: a candidate behind on the same 5 seeds is not retired on 400 repeated rollouts', () => {
    const leader = seeded('baseline', cycle(400, [1, 1, 1, 0, 0]));
    const behind = seeded('c1', cycle(400, [1, 0, 1, 0, 0]), { isControl: false, createdOrder: 1 });
    expect(candidatesToRetire([leader, behind], { rolloutsPerCandidate: 20 })).toEqual([]);
    // The same rewards without seeds (independent rollouts) are clear evidence: retired.
    const plain = (c: CandidateView): CandidateView => ({ ...c, seedStats: undefined });
    expect(candidatesToRetire([plain(leader), plain(behind)], { rolloutsPerCandidate: 20 })).toEqual(['c1']);
  });

  it('champion: ranked on seed means, not on rollouts piled onto an easy seed', () => {
    // c1: 100 rollouts of an easy seed (all 1) and 10 each of four hard ones (all 0): 71% per rollout, 20% per seed.
    const piled: Reward[] = [...Array.from({ length: 100 }, () => [0, 1] as const), ...[1, 2, 3, 4].flatMap((s) => Array.from({ length: 10 }, () => [s, 0] as const))];
    // c2: half its rollouts succeed on every seed: 50% either way.
    const even: Reward[] = Array.from({ length: 140 }, (_, i) => [i % 5, i % 2] as const);
    const control = seeded('baseline', cycle(140, [1, 0, 0, 0, 0]));
    const c1 = seeded('c1', piled, { isControl: false, createdOrder: 1 });
    const c2 = seeded('c2', even, { isControl: false, createdOrder: 2 });
    expect(pickChampion([control, c1, c2], 20, { priorStrength: 1 })).toBe('c2');
    const plain = [control, c1, c2].map((c) => ({ ...c, seedStats: undefined }));
    expect(pickChampion(plain, 20, { priorStrength: 1 })).toBe('c1');
  });

  it('allocation: weighs the rollouts the job served, so a pair told apart on its own traffic hands back to Thompson sampling', () => {
    // 1,000 rollouts each over the same 5 seeds at temperature 0: 80% against 60% on every pass of the pool.
    const a = seeded('baseline', cycle(1000, [1, 1, 1, 1, 0]));
    const b = seeded('c1', cycle(1000, [1, 1, 1, 0, 0]), { isControl: false, createdOrder: 1 });
    expect(identificationPick([a, b], UNIFORM_BETA, createSeededRng(1))).toBeUndefined();
    // Counting one observation per seed (what the claims do: evidenceStats) the pair is 5 observations
    // each and would still be measured: traffic spent on a difference the job's traffic already showed.
    expect(servedStats(b).n).toBe(1000);
    expect(evidenceStats(b).n).toBe(5);
  });

  it('allocation: ranks on the seed-level mean, not on rollouts piled onto an easy seed', () => {
    const c1 = seeded('c1', [...Array.from({ length: 100 }, () => [0, 1] as const), ...[1, 2, 3, 4].flatMap((s) => Array.from({ length: 10 }, () => [s, 0] as const))], { isControl: false, createdOrder: 1 });
    const c2 = seeded('c2', Array.from({ length: 140 }, (_, i) => [i % 5, i % 2] as const), { isControl: false, createdOrder: 2 });
    const rng = createSeededRng(3);
    const draws = Array.from({ length: 200 }, () => thompsonDraw([c1, c2], UNIFORM_BETA, rng, servedStats)!.id);
    expect(draws.filter((id) => id === 'c2').length).toBeGreaterThanOrEqual(195);
    expect(servedStats(c1).mean).toBeCloseTo(0.2, 12);
  });

  it('lift: paired by seed on shared seeds, and not significant on 5 seeds however often they repeat', () => {
    const controlRewards = cycle(1000, [1, 0, 1, 0, 0]);
    const championRewards = cycle(1000, [1, 1, 1, 0, 1]);
    const side = (id: string, rewards: Reward[]) => {
      const ledger = ledgerOf(rewards);
      return { ...seeded(id, rewards), val: { n: 0, mean: 0, m2: 0 }, onlineBySeed: seedMeans(ledger) };
    };
    const lift = liftOverControl(side('c1', championRewards), side('baseline', controlRewards))!;
    expect(lift.source).toBe('online');
    expect(lift.paired).toBe(true);
    expect(lift.n).toBe(5);
    expect(lift.lift).toBeCloseTo(0.4, 12);
    expect(lift.significant).toBe(false);
    // Per rollout, 1,000 against 1,000 at 80% vs 40% was "significant".
    const plainSide = (rewards: Reward[]) => ({ stats: statsOf(rewards.map(([, r]) => r)), val: { n: 0, mean: 0, m2: 0 }, unitInterval: true });
    expect(liftOverControl(plainSide(championRewards), plainSide(controlRewards))!.significant).toBe(true);
  });

  it('lift: many shared seeds with a consistent gain is significant when paired', () => {
    const rng = createSeededRng(3);
    const seeds = Array.from({ length: 2000 }, (_, s) => s);
    const base = seeds.map((s) => [s, rng.next() < 0.5 ? 1 : 0] as Reward);
    const better = base.map(([s, r]) => [s, r === 1 || rng.next() < 0.3 ? 1 : 0] as Reward);
    const side = (id: string, rewards: Reward[]) => ({ ...seeded(id, rewards), val: { n: 0, mean: 0, m2: 0 }, onlineBySeed: seedMeans(ledgerOf(rewards)) });
    const lift = liftOverControl(side('c1', better), side('baseline', base))!;
    expect(lift.paired).toBe(true);
    expect(lift.significant).toBe(true);
  });
});
