import type { Rng } from '../../src/shared/rng.js';
import { summarize, type CellSummary } from './aggregate.js';
import { runWorld } from './engine.js';
import { demoWorld, TYPES, type DemoWorldSetting } from './demoWorld.js';
import type { Policy, SimConfig } from './types.js';
import type { ModuleChoice } from '../../src/optimizer/core/moduleChoice.js';
import { PIPELINE_SETTINGS, pipelineConfigs } from './pipeline.js';
import { programWorld } from './program.js';
import { spliceMarked } from './docSections.js';

/**
 * Demonstrations and textual feedback in the simulator (`bench:optimizer --only demos`): the same
 * replicates (seeds, difficulties, types, baseline) run by miprox in each proposer mode, or with and
 * without feedback, at DEMO_BUDGET rollouts. Reported per variant: the final champion's true score,
 * identification and interval coverage; per comparison: the paired gap of champion true scores
 * (same replicate, two variants) with a 95% interval.
 */

export const DEMO_BUDGET = 5000;
/** Tuning replicates start here (`--tuning`); reported ones at 0. Disjoint from the other tables' ranges. */
export const DEMO_TUNING_OFFSET = 3_000_000;

export const DEMO_SETTINGS: readonly DemoWorldSetting[] = [
  { name: 'demos world, instruction_only', world: 'demos', mode: 'instruction_only', feedback: false },
  { name: 'demos world, instruction_and_demos', world: 'demos', mode: 'instruction_and_demos', feedback: false },
  { name: 'demos world, demos_only', world: 'demos', mode: 'demos_only', feedback: false },
  { name: 'feedback world, without feedback', world: 'feedback', mode: 'instruction_only', feedback: false },
  { name: 'feedback world, with feedback', world: 'feedback', mode: 'instruction_only', feedback: true },
];

/** [better, reference] pairs of DEMO_SETTINGS indices whose paired gap is reported. */
export const DEMO_COMPARISONS: readonly [number, number][] = [[1, 0], [2, 0], [1, 2], [4, 3]];

export interface DemoJob {
  kind: 'demos';
  /** `worlds`: a DEMO_SETTINGS row; `modules`: a MODULE_FEEDBACK_ROWS row on pipeline-3 (a). */
  table: 'worlds' | 'modules';
  setting: number;
  replicates: number;
  offset: number;
}

/** Module choice with and without feedback_by_module, on pipeline-3's bottleneck setting (a), seed request settings. */
export const MODULE_FEEDBACK_ROWS: readonly { name: string; strategy: ModuleChoice; feedbackByModule: boolean }[] = [
  { name: 'round_robin, no feedback', strategy: 'round_robin', feedbackByModule: false },
  { name: 'credit (default), no feedback', strategy: 'credit', feedbackByModule: false },
  { name: 'credit (default) + feedback_by_module blame', strategy: 'credit', feedbackByModule: true },
];

export type DemoCell = CellSummary & { championMeans: number[] };

export function demoJobs(replicates: number, offset: number): DemoJob[] {
  return [
    ...DEMO_SETTINGS.map((_, setting): DemoJob => ({ kind: 'demos', table: 'worlds', setting, replicates, offset })),
    ...MODULE_FEEDBACK_ROWS.map((_, setting): DemoJob => ({ kind: 'demos', table: 'modules', setting, replicates, offset })),
  ];
}

export function describeDemoJob(job: DemoJob): string {
  return job.table === 'worlds' ? `demos / ${DEMO_SETTINGS[job.setting]!.name}` : `module feedback / ${MODULE_FEEDBACK_ROWS[job.setting]!.name}`;
}

export function runDemoJob(base: SimConfig, makePolicy: (cfg: SimConfig) => (rng: Rng) => Policy, job: DemoJob): DemoCell {
  if (job.table === 'modules') {
    const { cfg } = pipelineConfigs(base)[0]!;
    const row = MODULE_FEEDBACK_ROWS[job.setting]!;
    const setting = PIPELINE_SETTINGS[0]!;
    const results = Array.from({ length: job.replicates }, (_, i) =>
      runWorld(cfg, (streams) => programWorld(cfg, setting, row.strategy, streams, { feedbackByModule: row.feedbackByModule }), makePolicy(cfg), job.offset + i));
    return { ...summarize(results, cfg.budget), championMeans: results.map((r) => r.championTrueMean) };
  }
  const cfg = { ...base, budget: DEMO_BUDGET };
  const setting = DEMO_SETTINGS[job.setting]!;
  const results = Array.from({ length: job.replicates }, (_, i) => runWorld(cfg, (streams) => demoWorld(cfg, setting, streams), makePolicy(cfg), job.offset + i));
  return { ...summarize(results, cfg.budget), championMeans: results.map((r) => r.championTrueMean) };
}

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const pts = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;

/** Mean paired difference with a normal 95% interval (replicates are independent worlds). */
export function pairedGap(a: readonly number[], b: readonly number[]): { mean: number; lo: number; hi: number } {
  const d = a.map((x, i) => x - b[i]!);
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, d.length - 1));
  const half = 1.96 * sd / Math.sqrt(d.length);
  return { mean, lo: mean - half, hi: mean + half };
}

export const DEMO_START = '<!-- demos:start -->';
export const DEMO_END = '<!-- demos:end -->';

export function demoSection(cfg: SimConfig, all: readonly DemoCell[], replicates: number, offset: number, seconds: number): string {
  const cells = all.slice(0, DEMO_SETTINGS.length);
  const moduleCells = all.slice(DEMO_SETTINGS.length);
  const moduleRows = MODULE_FEEDBACK_ROWS.map((r, i) => {
    const c = moduleCells[i]!;
    return `| ${r.name} | ${pct(c.moduleShares?.[1] ?? null)} | ${(100 * c.championMean).toFixed(1)}% | ${pct(c.identification)} | ${pct(c.coverage)} |`;
  });
  const moduleGap = pairedGap(moduleCells[2]!.championMeans, moduleCells[1]!.championMeans);
  const seedRequest = pipelineConfigs(cfg)[0]!;
  const rows = DEMO_SETTINGS.map((s, i) => {
    const c = cells[i]!;
    return `| ${s.name} | ${(100 * c.championMean).toFixed(1)}% | ${pct(c.identification)} | ${pct(c.identification02)} | ${pct(c.coverage)} | ${c.armsMean.toFixed(1)} |`;
  });
  const gaps = DEMO_COMPARISONS.map(([a, b]) => {
    const g = pairedGap(cells[a]!.championMeans, cells[b]!.championMeans);
    return `| ${DEMO_SETTINGS[a]!.name} vs ${DEMO_SETTINGS[b]!.name} | ${pts(g.mean)} | [${pts(g.lo)}, ${pts(g.hi)}] |`;
  });
  return `${DEMO_START}
## Demonstrations and textual feedback

miprox (the same policy as the tables above) on two simulated worlds (bench/sim/demoWorld.ts), ${DEMO_BUDGET.toLocaleString('en-US')} rollouts,
R ${cfg.rolloutsPerCandidate}, a proposal every ${cfg.proposerMinRollouts} rewards, ${cfg.maxCandidates} candidates, max_demos 4, demo_min_reward 1 (binary rewards).
${replicates} replicates per row, simulator replicates ${offset}..${offset + replicates - 1} (held out: nothing was tuned on them), ${seconds.toFixed(0)} s.
Every row of a world runs the same replicates (seeds, difficulties, label types, baseline), so gaps are paired.
- **Demos world**: ${TYPES} label types; the baseline's skill per type N(0, 0.8); a demo of a type raises the success logit on that type (by 1.0 x its helpfulness,
  diminishing for more of the same type); the instruction's skill on a type shrinks what a demo of it adds (substitution 0.6).
  Demo sets are drawn by the product's own \`buildDemoPool\` / \`proposeDemoSet\` / \`chooseProposalKind\` from rewarded
  bootstrap and online rollouts that have arrived; the run throws if a val seed ever reaches a pool or a demo set (none did).
- **Feedback world**: a hidden failure cause per seed (${TYPES} causes, not visible in the input; the baseline's skill per cause
  N(0, 0.8)); an instruction proposal
  fixes one cause (+0.6 logit). With feedback, the simulated proposer fixes the cause named most often in the feedback of the
  parent's recent failed training rollouts (never val); without, it guesses.
- Identification: champion within 0.01 (0.02) of the best true score among the run's candidates; coverage: the reported
  best_score interval contains the champion's true score.

| variant | champion true score | identification ±0.01 | ±0.02 | coverage | candidates |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}

Paired gap of the final champion's true score (points, mean with a 95% normal interval over replicates):

| comparison | gap | 95% interval |
|---|---:|---:|
${gaps.join('\n')}

**Module choice from \`feedback_by_module\`** (pipeline-3 setting (a) bottleneck, ${seedRequest.name},
${seedRequest.cfg.budget.toLocaleString('en-US')} rollouts, the same replicates per row): with every failed rollout the simulated app names, in
\`feedback_by_module\`, the modules whose call failed (drawn given the failure); once every module was tried, the runner
sends the proposal to a module by a Dirichlet draw over how often each was named in the last 100 failed training rollouts.
Target: >= 60% of proposals to the bottleneck module.

| module choice | proposals to the bottleneck | champion true score | identification ±0.01 | coverage |
|---|---:|---:|---:|---:|
${moduleRows.join('\n')}

Champion true score, the default with blame against without: ${pts(moduleGap.mean)} points [${pts(moduleGap.lo)}, ${pts(moduleGap.hi)}].
${DEMO_END}
`;
}

export function spliceDemoSection(doc: string, section: string): string {
  return spliceMarked(doc, DEMO_START, DEMO_END, section);
}
