import { summarize, type CellSummary } from './aggregate.js';
import { runWorld } from './engine.js';
import type { Policy, SimConfig } from './types.js';
import { specWorld, WORLDS } from './worlds.js';
import type { Rng } from '../../src/shared/rng.js';
import { spliceMarked } from './docSections.js';

/**
 * The worlds table (`bench:optimizer --only worlds`): every world of bench/sim/worlds.ts, its null
 * and non-null variant, run by plain Thompson sampling (the baseline), miprox, miprox as it was
 * before seed-level inference (per-rollout statistics), and the oracle beside. Reported on
 * replicates 0.. ; anything tuned on these worlds used WORLDS_TUNING_OFFSET.. (`--tuning`, never written).
 */

export const WORLDS_TUNING_OFFSET = 3_000_000;
/** The README's loop is short: 2,000 rollouts (the benchmark's smallest budget). */
export const WORLDS_BUDGET = 2000;

export interface WorldJob {
  kind: 'worlds';
  world: number;
  isNull: boolean;
  /** Index into the caller's policy list. */
  policy: number;
  replicates: number;
  offset: number;
}

export function worldJobs(policies: number, replicates: number, offset: number): WorldJob[] {
  return WORLDS.flatMap((_, world) => [true, false].flatMap((isNull) =>
    Array.from({ length: policies }, (_, policy): WorldJob => ({ kind: 'worlds', world, isNull, policy, replicates, offset }))));
}

/** The bench's config with the world's seed counts and the worlds' budget. */
export function worldConfig(cfg: SimConfig, world: number): SimConfig {
  return { ...cfg, budget: WORLDS_BUDGET, seeds: WORLDS[world]!.seeds };
}

export function runWorldJob(cfg: SimConfig, job: WorldJob, makePolicy: (rng: Rng) => Policy): CellSummary {
  const spec = WORLDS[job.world]!;
  const run = worldConfig(cfg, job.world);
  const results = Array.from({ length: job.replicates }, (_, i) =>
    runWorld(run, (streams) => specWorld(spec, job.isNull, run.budget, streams), makePolicy, job.offset + i));
  return summarize(results, run.budget);
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

export const WORLDS_START = '<!-- worlds:start -->';
export const WORLDS_END = '<!-- worlds:end -->';

export interface WorldTargets {
  /** Worst best_score coverage of miprox over every world and variant. */
  coverage: number;
  /** Worst false-improvement rate of miprox over the null variants. */
  falseImprovement: number;
  valSeedLeaks: number;
}

export function worldTargets(jobs: readonly WorldJob[], summaries: readonly CellSummary[], policyName: (i: number) => string): WorldTargets {
  const ours = jobs.flatMap((j, i) => (policyName(j.policy) === 'miprox' ? [{ j, s: summaries[i]! }] : []));
  return {
    coverage: Math.min(...ours.map(({ s }) => s.coverage ?? 1)),
    falseImprovement: Math.max(...ours.filter(({ j }) => j.isNull).map(({ s }) => s.falseImprovement)),
    valSeedLeaks: summaries.reduce((n, s) => n + s.valSeedLeaks, 0),
  };
}

/** The markdown section (between markers, so `--only worlds` replaces it alone). */
export function worldsSection(jobs: readonly WorldJob[], summaries: readonly CellSummary[], policyName: (i: number) => string, replicates: number, offset: number, seconds: number): string {
  const rows = jobs.map((job, i) => {
    const s = summaries[i]!;
    const world = `${WORLDS[job.world]!.name}${job.isNull ? ', null' : ''}`;
    return `| ${world} | ${policyName(job.policy)} | ${pct(s.identification)} | ${s.regretMean.toFixed(1)} | ${s.championMean.toFixed(3)} | ${pct(s.coverage)} | ${pct(s.significantLift)} | ${pct(s.falseImprovement)} | ${s.valSeedLeaks} |`;
  });
  const t = worldTargets(jobs, summaries, policyName);
  const verdict = (met: boolean): string => (met ? 'met' : '**missed**');
  return `${WORLDS_START}
## Worlds people actually run (issue 12)

Each world is the benchmark's theta world with one thing changed (bench/sim/worlds.ts), at ${WORLDS_BUDGET.toLocaleString('en-US')} rollouts, R = 20,
12 candidates; its "null" variant has every child identical to its parent, so any significant lift there is false.
Temperature 0 (T=0): a seed's reward is fixed (the same answer every time it is run). Heavy tails: 0/1 outcomes plus a
reward of 1e4 with probability 0.001, declared range [0, 1e4] (all figures on that range's [0, 1] scale). Informative
missingness: 30% of children are regressions (-0.3 logits) that lose 60% of their failed rollouts' rewards (in the null
variant they lose them without being worse). Drift: every candidate's theta moves by +0.6 logits over the run; the true
mean is the average over the run. Proposer mixture: children are small edits (70%, N(0, 0.1)), regressions (25%,
-0.4 to -1 logits) or rare wins (5%, +0.6). **Thompson** is plain Thompson sampling (the baseline, reporting like a naive
dashboard: highest raw mean, Wald interval, unpaired Wald test); **miprox per-rollout** is miprox's policy with the
statistics of main before seed-level inference (every rollout an independent observation, no exclusion of candidates
losing rewards); the **oracle** knows the true means (identification ceiling, no interval).

${replicates} replicates per cell on simulator replicates ${offset}..${offset + replicates - 1}; nothing was tuned on these worlds
(tuning runs, if any, use replicates ${WORLDS_TUNING_OFFSET.toLocaleString('en-US')}.. via \`--tuning\` and are never written). ${seconds.toFixed(0)} s on 2 workers.

| world | policy | identified (±0.01) | cumulative regret | champion true mean | best_score coverage | significant lift | false improvement | val seeds in online stats |
|---|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Targets (miprox): best_score coverage >= 90% in every world: ${verdict(t.coverage >= 0.9)} (lowest ${pct(t.coverage)});
false improvements <= 5% in every null world: ${verdict(t.falseImprovement <= 0.05)} (highest ${pct(t.falseImprovement)});
no val seed in online statistics: ${verdict(t.valSeedLeaks === 0)} (${t.valSeedLeaks} found).
${WORLDS_END}
`;
}

export function spliceWorldsSection(doc: string, section: string): string {
  return spliceMarked(doc, WORLDS_START, WORLDS_END, section);
}
