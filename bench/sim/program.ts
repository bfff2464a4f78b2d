import { chooseModule, type ModuleChoice } from '../../src/optimizer/core/moduleChoice.js';
import { sampleStandardNormal } from '../../src/optimizer/core/index.js';
import { pooledVariance } from '../../src/optimizer/core/statistics.js';
import { createSeededRng, type Rng } from '../../src/shared/rng.js';
import type { ArmModel, SimConfig, SimWorld, WorldStreams } from './types.js';
import { sigmoid } from './world.js';

/**
 * The simulated 3-module program ("pipeline-3"). A program has a quality q_m in (0, 1) per module
 * (kept as a logit); a rollout succeeds with probability prod over calls of the called module's
 * (effective) quality, so one binary reward per rollout carries no per-module signal. A proposal
 * changes one module, chosen by `chooseModule` as the runner does, and copies the others.
 */

export const MODULES = ['extract', 'retrieve', 'answer'] as const;

export interface ProgramSetting {
  name: string;
  /**
   * - `product`: P = q1 q2 q3.
   * - `interaction`: module 3's effective quality depends on module 1's, q3^(1 + 2 (1 - q1)): the
   *   answer step degrades when extraction is weak, so a change to either moves the other's worth.
   * - `repeated`: module 2 is called 0-3 times per rollout (fixed per seed, uniform), each call
   *   multiplying its q; the true mean averages over the call count.
   */
  kind: 'product' | 'interaction' | 'repeated';
  /** Baseline logit per module; every replicate adds N(0, BASELINE_JITTER) per module. */
  baseLogits: readonly [number, number, number];
  /** The module index that limits the program (setting a); its proposal share is reported. */
  bottleneck: number | null;
  /** Every child equals its parent (the null setting). */
  isNull: boolean;
}

export const BASELINE_JITTER = 0.25;

/**
 * Children: the changed module's logit moves by a draw from this mixture (one class draw, then the
 * magnitude), the same k-th draw in every policy's run of a replicate (common random numbers).
 */
export const CHILD_MIXTURE = {
  small: { p: 0.6, sd: 0.3 },
  regression: { p: 0.3, min: 0.5, max: 1.5 },
  largeWin: { p: 0.1, min: 1, max: 2 },
} as const;

export function drawChildDelta(rng: Rng): number {
  const u = rng.next();
  const v = rng.next();
  const { small, regression, largeWin } = CHILD_MIXTURE;
  if (u < small.p) return small.sd * sampleStandardNormal(rng);
  if (u < small.p + regression.p) return -(regression.min + (regression.max - regression.min) * v);
  return largeWin.min + (largeWin.max - largeWin.min) * v;
}

/** Success probability of one rollout that calls the repeated module `calls` times. */
export function successProbability(kind: ProgramSetting['kind'], logits: readonly number[], calls: number): number {
  const [q1, q2, q3] = logits.map(sigmoid) as [number, number, number];
  if (kind === 'interaction') return q1 * q2 * q3 ** (1 + 2 * (1 - q1));
  if (kind === 'repeated') return q1 * q2 ** calls * q3;
  return q1 * q2 * q3;
}

/** Population mean: in `repeated`, the average over 0-3 calls (the seed population's distribution). */
export function programTrueMean(kind: ProgramSetting['kind'], logits: readonly number[]): number {
  if (kind !== 'repeated') return successProbability(kind, logits, 1);
  return [0, 1, 2, 3].reduce((s, c) => s + successProbability(kind, logits, c), 0) / 4;
}

/** Low-reward rollouts whose per-module feedback counts as blame (the runner's BLAME_WINDOW). */
const BLAME_WINDOW = 100;

/**
 * `feedbackByModule`: the app reports, with every failed rollout, feedback_by_module naming the
 * modules whose call failed (drawn from their distribution given that the rollout failed, from a
 * stream of its own so the rewards stay those of the other rows); module choice gets the blame
 * counts of the last BLAME_WINDOW failed training rollouts, as the runner reads them.
 */
export function programWorld(cfg: SimConfig, setting: ProgramSetting, strategy: ModuleChoice, streams: WorldStreams, opts: { feedbackByModule?: boolean } = {}): SimWorld {
  const calls = new Map<number, number>();
  const make = (offset: number, n: number): number[] =>
    Array.from({ length: n }, (_, i) => {
      calls.set(offset + i, Math.floor(streams.world.next() * 4));
      return offset + i;
    });
  const seeds = { bootstrap: make(0, cfg.seeds.bootstrap), online: make(10_000, cfg.seeds.online), val: make(100_000, cfg.seeds.val) };
  const logitsOf = new WeakMap<ArmModel, readonly number[]>();
  const arm = (logits: readonly number[], module: string | null): ArmModel => {
    const model: ArmModel = {
      trueMean: programTrueMean(setting.kind, logits),
      reward: (seed, rng) => (rng.next() < successProbability(setting.kind, logits, calls.get(seed)!) ? 1 : 0),
      module,
    };
    logitsOf.set(model, logits);
    return model;
  };
  const baseline = arm(setting.baseLogits.map((l) => l + BASELINE_JITTER * sampleStandardNormal(streams.world)), null);
  const proposals: Record<string, number> = {};
  // Drawn after everything else of the world stream, and only with feedback: the other rows' worlds are unchanged.
  const blameRng = opts.feedbackByModule ? createSeededRng(Math.floor(streams.world.next() * 2 ** 32)) : null;
  const blamed: string[][] = [];
  const blameCounts = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const list of blamed.slice(-BLAME_WINDOW)) for (const m of list) out[m] = (out[m] ?? 0) + 1;
    return out;
  };
  return {
    seeds,
    baseline,
    propose(parent, arms) {
      const module = chooseModule(
        {
          modules: MODULES,
          candidates: arms,
          proposalsByModule: { ...proposals },
          rolloutsPerCandidate: cfg.rolloutsPerCandidate,
          rewardVariance: pooledVariance(arms.map((a) => a.stats)),
          strategy,
          ...(blameRng ? { blame: blameCounts() } : {}),
        },
        streams.module,
      )!;
      proposals[module] = (proposals[module] ?? 0) + 1;
      const index = MODULES.indexOf(module as (typeof MODULES)[number]);
      const parentLogits = logitsOf.get(parent.model)!;
      return (count) =>
        Array.from({ length: count }, () => {
          const delta = drawChildDelta(streams.child);
          const logits = parentLogits.map((l, m) => (m === index && !setting.isNull ? l + delta : l));
          return arm(logits, module);
        });
    },
    proposalsByModule: () => MODULES.map((m) => proposals[m] ?? 0),
    moduleCount: MODULES.length,
    observe: ({ model, seed, split, reward }) => {
      if (!blameRng || reward !== 0 || split === 'val') return; // val feedback never reaches the optimizer
      blamed.push(failedModules(setting.kind, logitsOf.get(model)!, calls.get(seed)!, blameRng));
    },
  };
}

/** Which modules' calls failed in a failed rollout: per-call outcomes drawn given that one failed (rejection). */
function failedModules(kind: ProgramSetting['kind'], logits: readonly number[], calls: number, rng: Rng): string[] {
  const [q1, q2, q3] = logits.map(sigmoid) as [number, number, number];
  const p = [q1, kind === 'repeated' ? q2 ** calls : q2, kind === 'interaction' ? q3 ** (1 + 2 * (1 - q1)) : q3];
  for (let attempt = 0; attempt < 1000; attempt++) {
    const failed = MODULES.filter((_, m) => rng.next() >= p[m]!);
    if (failed.length > 0) return failed;
  }
  return [];
}
