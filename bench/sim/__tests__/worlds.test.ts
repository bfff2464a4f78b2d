import { describe, expect, it } from 'vitest';
import type { CellSummary } from '../aggregate.js';
import { miproxPolicy } from '../policies.js';
import type { SimConfig } from '../types.js';
import { WORLDS } from '../worlds.js';
import { runWorldJob } from '../worldsBench.js';

/**
 * One test per world of issue 12 (bench/sim/worlds.ts): miprox meets the targets there (best_score
 * coverage, false improvements in the null variant, no val seed in online statistics), and where
 * main's per-rollout statistics did not, the same replicates run with them (`perRollout`, miprox's
 * policy as it ran before seed-level inference) show the failure. 60 replicates per cell on
 * simulator replicates 4,000,000.. (disjoint from the reported 0.. and the tuning 3,000,000..), so the
 * thresholds leave room for that sample: coverage >= 85%, false improvements <= 10%.
 */

const CONFIG: SimConfig = {
  budget: 2000,
  rolloutsPerCandidate: 20,
  proposerMinRollouts: 100,
  maxCandidates: 12,
  instructionsPerBatch: 2,
  proposalLag: 10,
  maxDelay: 40,
  missingRate: 0.1,
  rewardTtl: 100,
  seeds: { bootstrap: 10, online: 1000, val: 100 },
  baselineTheta: { mean: 0.3, sd: 0.5 },
  valEvery: 4,
};
const REPLICATES = 60;
const OFFSET = 4_000_000;

function run(worldName: string, isNull: boolean, perRollout = false): CellSummary {
  const world = WORLDS.findIndex((w) => w.name.startsWith(worldName));
  if (world < 0) throw new Error(`no world ${worldName}`);
  return runWorldJob(CONFIG, { kind: 'worlds', world, isNull, policy: 0, replicates: REPLICATES, offset: OFFSET },
    (rng) => miproxPolicy(CONFIG.rolloutsPerCandidate, rng, { maxCandidates: CONFIG.maxCandidates, perRollout }));
}

function expectTargets(world: string): void {
  for (const isNull of [true, false]) {
    const s = run(world, isNull);
    expect(s.coverage, `${world}${isNull ? ' (null)' : ''}: coverage`).toBeGreaterThanOrEqual(0.85);
    expect(s.valSeedLeaks, `${world}: val seeds in online statistics`).toBe(0);
    if (isNull) expect(s.falseImprovement, `${world} (null): false improvements`).toBeLessThanOrEqual(0.1);
  }
}

describe('worlds people actually run (issue 12)', { timeout: 120_000 }, () => {
  it('seed config (5 online, 3 val, T=0): honest intervals and no false improvements', () => {
    expectTargets('seed config (5 online');
  });

  it('seed config without val (the README loop): per-rollout statistics were overconfident, seed-level ones are not', () => {
    expectTargets('seed config, no val');
    const before = run('seed config, no val', true, true);
    expect(before.coverage).toBeLessThan(0.5);
    expect(before.falseImprovement).toBeGreaterThan(0.2);
  });

  it('small pool (30 seeds, T=0, no val): per-rollout statistics were overconfident, seed-level ones are not', () => {
    expectTargets('small pool');
    const before = run('small pool', true, true);
    expect(before.coverage).toBeLessThan(0.5);
    expect(before.falseImprovement).toBeGreaterThan(0.05);
  });

  it('heavy-tailed rewards inside the declared range: intervals cover', () => {
    expectTargets('heavy-tailed');
  });

  it('informative missingness: a child that drops its failures is kept from the title, so the best is found more often', () => {
    expectTargets('informative missingness');
    const now = run('informative missingness', false);
    const before = run('informative missingness', false, true);
    expect(now.identification).toBeGreaterThan(before.identification + 0.05);
  });

  it('drift: intervals cover the mean over the run and the null variant reports no improvement', () => {
    expectTargets('drift');
  });

  it('proposer mixture (small edits, regressions, rare wins): intervals cover', () => {
    expectTargets('proposer mixture');
  });
});
