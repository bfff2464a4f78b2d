import { describe, expect, it } from 'vitest';
import { createSeededRng, type Rng } from '../../../src/shared/rng.js';
import { summarizeJob } from '../../../src/services/jobSummary.js';
import { sampleNormal } from '../../../src/optimizer/core/sampling.js';
import { statsOf } from '../../../src/optimizer/core/statistics.js';
import type { Interval } from '../../../src/optimizer/core/types.js';
import type { CandidateRecord, JobRecord } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

/**
 * Interval coverage in reward worlds where a sample variance is a poor guide: each replicate draws
 * one candidate's rewards, asks the job summary (what GET .../jobs/{id} shows) for its intervals, and
 * counts how often they contain the true mean. Seeded, so the numbers are reproducible.
 */

interface World { name: string; range: [number, number]; mean: number; draw(rng: Rng): number }

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, error < 1.5e-7): the lognormal's clamped mean. */
function phi(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x) / Math.SQRT2);
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

const RARE = 0.002;
const heavy: World = {
  name: 'heavy tails: 0/1 plus a rare 1e4, range [0, 1e4]', range: [0, 1e4],
  mean: RARE * 1e4 + (1 - RARE) * 0.6,
  draw: (rng) => (rng.next() < RARE ? 1e4 : rng.next() < 0.6 ? 1 : 0),
};
// Lognormal(0, 1.5) clamped at the range's top (beyond it has probability 2e-6): E[min(X, c)].
const SIGMA = 1.5;
const CAP = 1000;
const lognormal: World = {
  name: 'lognormal(0, 1.5), range [0, 1000]', range: [0, CAP],
  mean: Math.exp(SIGMA ** 2 / 2) * phi((Math.log(CAP) - SIGMA ** 2) / SIGMA) + CAP * (1 - phi(Math.log(CAP) / SIGMA)),
  draw: (rng) => Math.min(CAP, Math.exp(sampleNormal(0, SIGMA, rng))),
};
// [0, 1] rewards that are not 0/1: the Wilson interval's variance bound p (1 - p) still holds.
const partial: World = {
  name: 'partial credit in [0, 1]: 0.01 mostly, 1 at 2%', range: [0, 1], mean: 0.02 + 0.98 * 0.01,
  draw: (rng) => (rng.next() < 0.02 ? 1 : 0.01),
};

const job = (range: [number, number]): JobRecord =>
  ({ id: 'pl_x', status: 'running', proposalSeq: 1, config: { ...sampleConfig, mipro: { ...sampleConfig.mipro, reward_range: range } } }) as unknown as JobRecord;

const baseline = (online: number[], val: number[]): CandidateRecord => ({
  jobId: 'pl_x', id: 'baseline', parentId: null, status: 'active', instruction: '', module: null, instructions: {}, demos: {}, tip: null,
  proposalId: null, ordinal: 0, dispatches: online.length, online: statsOf(online), rewardsInUnitInterval: online.every((x) => x >= 0 && x <= 1),
  monitor: { n: 0, mean: 0, m2: 0 }, monitorInUnitInterval: true,
  val: statsOf(val), createdAt: '', retiredAt: null,
});

const covers = (ci: Interval | null, mean: number): boolean => ci !== null && ci[0] <= mean && mean <= ci[1];

/** Coverage of best_score's interval at each sample size: online-only (no val yet) and val. */
function coverage(world: World, source: 'online' | 'val', n: number, replicates: number, seed: number): number {
  const rng = createSeededRng(seed);
  let hits = 0;
  for (let r = 0; r < replicates; r++) {
    const xs = Array.from({ length: n }, () => world.draw(rng));
    const summary = summarizeJob(job(world.range), [source === 'online' ? baseline(xs, []) : baseline([1], xs)]);
    expect(summary.bestScoreSource).toBe(source);
    if (covers(summary.bestScoreCi, world.mean)) hits++;
  }
  return hits / replicates;
}

describe('best_score intervals hold for any reward distribution inside the declared range', () => {
  for (const world of [heavy, lognormal, partial]) {
    it(`covers the true mean in >= 90% of runs: ${world.name}`, () => {
      const measured: string[] = [];
      for (const [source, ns] of [['online', [10, 50, 300, 1000]], ['val', [5, 20, 100, 400]]] as const) {
        for (const n of ns) {
          const c = coverage(world, source, n, 400, 1000 + n);
          measured.push(`${source} n=${n}: ${(100 * c).toFixed(1)}%`);
          expect(c, `${world.name}, ${source}, n = ${n}`).toBeGreaterThanOrEqual(0.9);
        }
      }
      console.log(`${world.name}: ${measured.join(', ')}`);
    });
  }
});
