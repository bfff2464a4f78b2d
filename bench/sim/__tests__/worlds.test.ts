import { describe, expect, it } from 'vitest';
import { bestScore, emptyStats, liftOverControl } from '../../../src/optimizer/core/index.js';
import { seedMeans } from '../../../src/optimizer/core/seedClusters.js';
import { csRadius } from '../../../src/optimizer/core/confidence.js';
import type { CellSummary } from '../aggregate.js';
import { miproxPolicy } from '../policies.js';
import type { Policy, SimArm, SimConfig } from '../types.js';
import { WORLDS } from '../worlds.js';
import { runWorldJob } from '../worldsBench.js';
import { BENCH_CONFIG } from '../config.js';

/**
 * One test per world of issue 12 (bench/sim/worlds.ts): miprox meets the targets there (best_score
 * coverage, false improvements in the null variant, no val seed in online statistics), and where
 * main's per-rollout statistics did not, the same replicates run with them (`perRollout`, miprox's
 * policy as it ran before seed-level inference) show the failure. 60 replicates per cell on
 * simulator replicates 4,000,000.. (disjoint from the reported 0.. and the tuning 3,000,000..), so the
 * thresholds leave room for that sample: coverage >= 85%, false improvements <= 10%.
 */

const CONFIG: SimConfig = BENCH_CONFIG;
const REPLICATES = 60;
const OFFSET = 4_000_000;

function run(worldName: string, isNull: boolean, perRollout = false): CellSummary {
  const world = WORLDS.findIndex((w) => w.name.startsWith(worldName));
  if (world < 0) throw new Error(`no world ${worldName}`);
  return runWorldJob(CONFIG, { kind: 'worlds', world, isNull, policy: 0, replicates: REPLICATES, offset: OFFSET },
    (rng) => miproxPolicy(CONFIG.rolloutsPerCandidate, rng, { maxCandidates: CONFIG.maxCandidates, perRollout }));
}

/**
 * At the end of each of `replicates` runs: the champion's online best_score interval (as reported
 * without val rewards, with the policy's own view of the evidence; `perRollout`: main before), and
 * the interval that its distinct seeds warrant (mean +- the anytime-valid radius at one observation
 * per seed, clamped to [0, 1] as best_score is).
 */
function championOnlineIntervals(worldName: string, perRollout: boolean, replicates = 10): { ci: [number, number]; warranted: [number, number]; seeds: number }[] {
  const world = WORLDS.findIndex((w) => w.name.startsWith(worldName));
  const out: { ci: [number, number]; warranted: [number, number]; seeds: number }[] = [];
  const capture = (p: Policy): Policy => ({
    ...p,
    report(arms) {
      const report = p.report(arms);
      const champion = arms.find((a) => a.id === report.championId)!;
      const view: SimArm = perRollout ? { ...champion, seedStats: undefined } : champion;
      const ci = bestScore({ ...view, val: emptyStats() }).ci!;
      const seeds = champion.ledger.cells.size;
      const mean = champion.seedStats!.mean;
      const r = csRadius(seeds, 0.05);
      out.push({ ci: [ci[0], ci[1]], warranted: [Math.max(0, mean - r), Math.min(1, mean + r)], seeds });
      return report;
    },
  });
  runWorldJob(CONFIG, { kind: 'worlds', world, isNull: false, policy: 0, replicates, offset: OFFSET },
    (rng) => capture(miproxPolicy(CONFIG.rolloutsPerCandidate, rng, { maxCandidates: CONFIG.maxCandidates, perRollout })));
  return out;
}

const mean = (x: readonly number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
const standardError = (x: readonly number[]): number => Math.sqrt(x.reduce((s, v) => s + (v - mean(x)) ** 2, 0) / (x.length - 1) / x.length);

/**
 * The drift world's null variant: the policy's summary, and at the end of each run the val lift of
 * its champion over the control as reported (`now`: contemporaneous pairs) and as main paired it
 * (`stale`: every shared val seed, without run times). Runs whose lift is not from val are left out.
 */
function nullDriftLifts(replicates: number): { summary: CellSummary; now: number[]; stale: number[] } {
  const world = WORLDS.findIndex((w) => w.name.startsWith('drift'));
  const now: number[] = [];
  const stale: number[] = [];
  const capture = (p: Policy): Policy => ({
    ...p,
    report(arms) {
      const report = p.report(arms);
      const champion = arms.find((a) => a.id === report.championId)!;
      const control = arms.find((a) => a.isControl)!;
      if (champion !== control) {
        const side = (a: SimArm, times: boolean) => ({ ...a, onlineBySeed: seedMeans(a.ledger), ...(times ? {} : { valAtBySeed: undefined }) });
        const lift = liftOverControl(side(champion, true), side(control, true));
        const main = liftOverControl(side(champion, false), side(control, false));
        if (lift?.source === 'val') now.push(lift.lift);
        if (main?.source === 'val') stale.push(main.lift);
      }
      return report;
    },
  });
  const summary = runWorldJob(CONFIG, { kind: 'worlds', world, isNull: true, policy: 0, replicates, offset: OFFSET },
    (rng) => capture(miproxPolicy(CONFIG.rolloutsPerCandidate, rng, { maxCandidates: CONFIG.maxCandidates })));
  return { summary, now, stale };
}

function expectTargets(world: string): void {
  for (const isNull of [true, false]) {
    const s = run(world, isNull);
    expect(s.coverage, `${world}${isNull ? ' (null)' : ''}: coverage`).toBeGreaterThanOrEqual(0.85);
    expect(s.valSeedLeaks, `${world}: val seeds in online statistics`).toBe(0);
    if (isNull) expect(s.falseImprovement, `${world} (null): false improvements`).toBeLessThanOrEqual(0.1);
  }
}

describe('worlds people actually run (issue 12)', { timeout: 600_000 }, () => {
  it('seed config (5 online, 3 val, T=0): honest intervals and no false improvements; 5 seeds give an interval as wide as 5 observations', () => {
    expectTargets('seed config (5 online');
    // The champion's online interval: hundreds of rollouts of at most 10 seeds (5 bootstrap, 5 online)
    // are at most 10 observations. Per rollout (main before) it was less than half as wide.
    for (const x of championOnlineIntervals('seed config (5 online', false)) {
      expect(x.seeds).toBeLessThanOrEqual(10);
      expect(x.ci[0]).toBeLessThanOrEqual(x.warranted[0] + 1e-9);
      expect(x.ci[1]).toBeGreaterThanOrEqual(x.warranted[1] - 1e-9);
    }
    for (const x of championOnlineIntervals('seed config (5 online', true)) {
      expect(x.ci[1] - x.ci[0]).toBeLessThan((x.warranted[1] - x.warranted[0]) / 2);
    }
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

  it('drift (null): a val seed pairs champion and control only when both ran it at the same time, so the drift is not read as a lift', () => {
    // 300 null runs, enough for the target itself (5% is 15 runs), and for the bias of the
    // val lift: every candidate is equal, so its mean over runs must be 0 within its noise.
    const { summary, now, stale } = nullDriftLifts(300);
    expect(summary.falseImprovement).toBeLessThanOrEqual(0.05);
    expect(summary.coverage).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(mean(now)), 'contemporaneous pairs: no bias').toBeLessThan(2 * standardError(now));
    // Main's pairing (every shared seed, whenever it was run) on the same runs: the control ran the
    // shared seeds earlier, on worse traffic, and the lift leans positive by several standard errors.
    expect(mean(stale), 'every shared seed paired: biased upward').toBeGreaterThan(3 * standardError(stale));
  });

  it('proposer mixture (small edits, regressions, rare wins): intervals cover', () => {
    expectTargets('proposer mixture');
  });
});
