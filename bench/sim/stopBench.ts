import { summarize, type CellSummary } from './aggregate.js';
import { runReplicate } from './engine.js';
import type { Policy, Setting, SimConfig } from './types.js';
import type { Rng } from '../../src/shared/rng.js';
import { spliceMarked } from './docSections.js';

/**
 * mipro.stop_when_identified in the simulator (`bench:optimizer --only stop`): the same worlds run
 * by miprox to a fixed budget, and with the stop rule (capped at that budget). Reported: how many
 * rollouts the rule uses, how often it ends a replicate early, and identification with and without
 * it (equal identification is the point: the rule may only save rollouts the budget did not need);
 * among the replicates it ended, identification must hold at >= 1 - delta.
 */

export const STOP_DELTA = 0.05;
/** The default epsilon (0.01, the benchmark's identification tolerance) and a looser one for comparison. */
export const STOP_EPSILONS = [0.01, 0.05] as const;
/** Tuning replicates start here (`--tuning`); reported ones at 0. Disjoint from the pipeline's tuning range. */
export const STOP_TUNING_OFFSET = 2_000_000;

export interface StopJob {
  kind: 'stop';
  setting: number;
  /** Null: the fixed budget, no rule. */
  epsilon: number | null;
  budget: number;
  /** online_proposer_max_candidates of the simulated job. */
  maxCandidates: number;
  replicates: number;
  offset: number;
}

export function stopJobs(settings: number, budget: number, pools: readonly number[], replicates: number, offset: number): StopJob[] {
  return pools.flatMap((maxCandidates) => Array.from({ length: settings }, (_, setting) =>
    [null, ...STOP_EPSILONS].map((epsilon): StopJob => ({ kind: 'stop', setting, epsilon, budget, maxCandidates, replicates, offset }))).flat());
}

/** miprox's policy, with the stop rule's allocation when a rule is given (as the runner does). */
export type StopPolicyFactory = (rule: { epsilon: number; delta: number } | undefined, maxCandidates: number) => (rng: Rng) => Policy;

export function runStopJob(cfg: SimConfig, settings: readonly Setting[], makePolicy: StopPolicyFactory, job: StopJob): CellSummary {
  const rule = job.epsilon === null ? undefined : { epsilon: job.epsilon, delta: STOP_DELTA };
  const run = { ...cfg, budget: job.budget, maxCandidates: job.maxCandidates, ...(rule ? { stopRule: rule } : {}) };
  const results = Array.from({ length: job.replicates }, (_, i) => runReplicate(run, settings[job.setting]!, makePolicy(rule, job.maxCandidates), job.offset + i));
  // Among the replicates the rule ended: the champion within epsilon of the best (the rule's promise).
  const stopped = results.filter((r) => r.stoppedAt !== null);
  const within = stopped.filter((r) => r.simpleRegret <= (job.epsilon ?? 0) + 1e-12).length;
  return { ...summarize(results, job.budget), stoppedIdentification: stopped.length > 0 ? within / stopped.length : null };
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

export const STOP_START = '<!-- stop-rule:start -->';
export const STOP_END = '<!-- stop-rule:end -->';

/** The markdown section (between markers, so `--only stop` can replace it alone). */
export function stopSection(settings: readonly Setting[], jobs: readonly StopJob[], summaries: readonly CellSummary[], replicates: number, offset: number, seconds: number): string {
  const rows: string[] = [];
  for (const [i, job] of jobs.entries()) {
    if (job.epsilon === null) continue;
    const fixed = summaries[jobs.findIndex((j) => j.epsilon === null && j.setting === job.setting && j.maxCandidates === job.maxCandidates)]!;
    const rule = summaries[i]!;
    const saved = job.budget - rule.rolloutsUsedMean;
    rows.push(`| ${job.maxCandidates} | ${settings[job.setting]!.name} | ${job.epsilon} | ${pct(fixed.identification)} | ${pct(rule.identification)} | ${pct(rule.stoppedShare)} | ${Math.round(rule.rolloutsUsedMean).toLocaleString('en-US')} | ${Math.round(saved).toLocaleString('en-US')} (${pct(saved / job.budget)}) | ${pct(rule.stoppedIdentification)} |`);
  }
  return `${STOP_START}
## Stop rule (mipro.stop_when_identified)

miprox with \`stop_when_identified: {epsilon, delta: ${STOP_DELTA}}\` (epsilon ${STOP_EPSILONS.join(' and ')}) against the same worlds run
to a fixed budget of ${jobs[0]?.budget.toLocaleString('en-US')} rollouts (the rule is capped at that budget), with the benchmark's 12 candidates and
with a smaller pool (everything else as in Setup). ${replicates} replicates per cell, simulator replicates ${offset}..${offset + replicates - 1}
(seeded: the same command prints the same table), ${seconds.toFixed(0)} s. Identification: the champion within 0.01 of the
best true mean (the benchmark's tolerance, for equal identification). "Stopped": replicates the rule ended before the
budget; "saved": budget minus the mean rollouts used; the last column is, among the stopped replicates, the share whose
champion is within epsilon of the best, which the rule promises at >= ${pct(1 - STOP_DELTA)}.

| candidates | setting | epsilon | identification, fixed budget | identification, with rule | stopped | rollouts used (mean) | saved | within epsilon when stopped |
|---|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
${STOP_END}
`;
}

export function spliceStopSection(doc: string, section: string): string {
  return spliceMarked(doc, STOP_START, STOP_END, section);
}
