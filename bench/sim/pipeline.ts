import type { ModuleChoice } from '../../src/optimizer/core/moduleChoice.js';
import type { Rng } from '../../src/shared/rng.js';
import { summarize, type CellSummary } from './aggregate.js';
import { runWorld } from './engine.js';
import { miproxPolicy, oracleTopTwoPolicy, thompsonPolicy } from './policies.js';
import { programWorld, type ProgramSetting } from './program.js';
import type { Policy, SimConfig } from './types.js';

/**
 * The "pipeline-3" table's cells: configurations x settings x policies, each a batch of replicates
 * of the 3-module program world (bench/sim/program.ts) at PIPELINE_BUDGET rollouts.
 */

export const PIPELINE_BUDGET = 5000;

/**
 * Replicate indices: reported runs use 0..n-1; anything tuned (chooseModule's constants, the
 * mixture) was tuned on TUNING_OFFSET.. only (`--tuning`), so the reported seeds never were.
 */
export const TUNING_OFFSET = 1_000_000;

export interface PipelineConfig {
  name: string;
  cfg: SimConfig;
}

/** The seed request's settings (the targets are read there) and the single-prompt bench's CONFIG. */
export function pipelineConfigs(base: SimConfig): PipelineConfig[] {
  const cfg = { ...base, budget: PIPELINE_BUDGET };
  return [
    {
      name: 'seed request (R 10, proposer every 20 rewards, 20 candidates)',
      cfg: { ...cfg, rolloutsPerCandidate: 10, proposerMinRollouts: 20, maxCandidates: 20, instructionsPerBatch: 2 },
    },
    {
      name: `bench CONFIG (R ${cfg.rolloutsPerCandidate}, proposer every ${cfg.proposerMinRollouts} rewards, ${cfg.maxCandidates} candidates)`,
      cfg,
    },
  ];
}

export const PIPELINE_SETTINGS: readonly ProgramSetting[] = [
  { name: '(a) bottleneck', kind: 'product', baseLogits: [3.5, 0, 3.5], bottleneck: 1, isNull: false },
  { name: '(b) all equal', kind: 'product', baseLogits: [1.4, 1.4, 1.4], bottleneck: null, isNull: false },
  { name: '(c) interaction 1-3', kind: 'interaction', baseLogits: [1.4, 1.4, 1.4], bottleneck: null, isNull: false },
  { name: '(d) module 2 called 0-3x', kind: 'repeated', baseLogits: [2, 1.4, 2], bottleneck: null, isNull: false },
  { name: 'null', kind: 'product', baseLogits: [1.4, 1.4, 1.4], bottleneck: null, isNull: true },
];

export interface PipelinePolicy {
  name: string;
  moduleChoice: ModuleChoice;
  make(cfg: SimConfig, rng: Rng): Policy;
}

/** Only miprox compares module choices; the references propose round-robin so only selection differs. */
export const PIPELINE_POLICIES: readonly PipelinePolicy[] = [
  { name: 'miprox (credit)', moduleChoice: 'credit', make: (cfg, rng) => miproxPolicy(cfg.rolloutsPerCandidate, rng, { maxCandidates: cfg.maxCandidates }) },
  { name: 'miprox (round_robin)', moduleChoice: 'round_robin', make: (cfg, rng) => miproxPolicy(cfg.rolloutsPerCandidate, rng, { maxCandidates: cfg.maxCandidates }) },
  { name: 'Thompson (round_robin)', moduleChoice: 'round_robin', make: (cfg, rng) => thompsonPolicy(cfg.rolloutsPerCandidate, rng) },
  { name: 'oracle top-2 (round_robin, reference)', moduleChoice: 'round_robin', make: () => oracleTopTwoPolicy() },
];

export interface PipelineJob {
  kind: 'pipeline';
  config: number;
  setting: number;
  policy: number;
  replicates: number;
  /** First replicate index (0 reported, TUNING_OFFSET while tuning). */
  offset: number;
}

export function pipelineJobs(base: SimConfig, replicates: number, offset: number): PipelineJob[] {
  const jobs: PipelineJob[] = [];
  pipelineConfigs(base).forEach((_, config) =>
    PIPELINE_SETTINGS.forEach((_, setting) =>
      PIPELINE_POLICIES.forEach((_, policy) => jobs.push({ kind: 'pipeline', config, setting, policy, replicates, offset }))));
  return jobs;
}

export function runPipelineJob(base: SimConfig, job: PipelineJob): CellSummary {
  const { cfg } = pipelineConfigs(base)[job.config]!;
  const setting = PIPELINE_SETTINGS[job.setting]!;
  const policy = PIPELINE_POLICIES[job.policy]!;
  const results = Array.from({ length: job.replicates }, (_, i) =>
    runWorld(cfg, (streams) => programWorld(cfg, setting, policy.moduleChoice, streams), (rng) => policy.make(cfg, rng), job.offset + i));
  return summarize(results, cfg.budget);
}

export function describeJob(base: SimConfig, job: PipelineJob): string {
  return `pipeline-3 / ${pipelineConfigs(base)[job.config]!.name} / ${PIPELINE_SETTINGS[job.setting]!.name} / ${PIPELINE_POLICIES[job.policy]!.name}`;
}
