import type { Rng } from '../../shared/rng.js';
import { sampleGamma, sampleNormal } from './sampling.js';
import type { RunningStats } from './types.js';

/**
 * Which module a proposal changes. Pure.
 *
 * - `round_robin`: the module proposed for least often, in call order.
 * - `credit`: every module is tried once (in call order); after that, Thompson-style sampling over
 *   how much changing each module MOVED the reward, up or down. For each child with a few rewards
 *   (and its parent too) the lift over its parent with its standard error; a module's estimate is
 *   the precision-weighted mean of |lift| minus what noise alone would give, and its draw adds half
 *   that estimate's uncertainty. A module with no measured child yet draws from a prior, so none is
 *   starved.
 * - Either way, once every module was tried, the app's own blame decides when it gave any: modules
 *   named in `feedback_by_module` of recent low-reward rollouts (see `blame`).
 *
 *   Why magnitude, not sign: when success is a product over modules, a module's lifts in both
 *   directions scale with how much it limits the program, and regressions (an edit's most common
 *   outcome) are the most frequent evidence of that. The sign alone (the first version: best draw of
 *   the signed lifts, children with >= R rewards) sent 34-40% of proposals to the bottleneck module
 *   in bench/optimizer.ts "pipeline-3" (a), barely above round-robin's 33%; this sends 44-50%, on
 *   the benchmark's tuning seeds, and 54.5% since proposals wait for the last children to be
 *   measured (proposalTrigger.ts childrenBeingMeasured; docs/optimizer-benchmark.md). Bad children
 *   are not kept by this choice: parent choice and selection already discard them.
 */

export const MODULE_CHOICES = ['credit', 'round_robin'] as const;
export type ModuleChoice = (typeof MODULE_CHOICES)[number];

export interface ModuleChoiceCandidate {
  id: string;
  parentId: string | null;
  /** The module this candidate changed (null for the baseline). */
  module: string | null;
  stats: RunningStats;
}

export interface ModuleChoiceInput {
  /** Module names in the order rollouts call them. */
  modules: readonly string[];
  candidates: readonly ModuleChoiceCandidate[];
  /** Children so far per module (the runner counts candidates, so a failed proposal does not count as a try). */
  proposalsByModule: Readonly<Record<string, number>>;
  rolloutsPerCandidate: number;
  /** Variance of one reward, pooled over the job (for the lifts' standard errors). */
  rewardVariance: number;
  strategy: ModuleChoice;
  /**
   * How many recent low-reward training rollouts' `feedback_by_module` named each module (the app's
   * own blame). When any module is named, it decides (after every module was tried once), whatever
   * the strategy: it is direct per-module evidence where the reward is one number per rollout.
   */
  blame?: Readonly<Record<string, number>>;
}

/** Standard deviation of the prior on an untested module's movement. */
const PRIOR_SD = 0.1;
/** E|N(0, se)| / se: what a lift of pure noise moves by on average. */
const NOISE_FLOOR = Math.sqrt(2 / Math.PI);
/** sd(|N(0, se)|) / se, about 0.6: the spread of one |lift| around its mean. */
const ABS_SD = Math.sqrt(1 - 2 / Math.PI);
/**
 * A child counts once it has R / 5 rewards (at least 2): proposals come faster than children reach R
 * rewards (every 20 rewards with R = 10 in the seed request), and the standard error already says
 * how little a few rewards tell. Waiting for R left most choices with no measured child (tuning seeds).
 */
const MIN_REWARDS_SHARE_OF_R = 0.2;
/** The draw's spread in units of the estimate's standard error (tuning seeds: 0.25 the same, 1 a little lower). */
const DRAW_SPREAD = 0.5;

export function chooseModule(input: ModuleChoiceInput, rng: Rng): string | null {
  const { modules, proposalsByModule } = input;
  if (modules.length <= 1) return modules[0] ?? null;
  const count = (m: string) => proposalsByModule[m] ?? 0;
  const leastProposed = modules.reduce((best, m) => (count(m) < count(best) ? m : best), modules[0] ?? '');
  if (count(leastProposed) === 0) return leastProposed;
  const blame = input.blame ?? {};
  if (modules.some((m) => (blame[m] ?? 0) > 0)) return blameDraw(modules, blame, rng);
  if (input.strategy === 'round_robin') return leastProposed;
  const lifts = measuredLifts(input);
  let best: string | null = null;
  let bestDraw = Number.NEGATIVE_INFINITY;
  for (const m of modules) {
    const own = lifts.get(m) ?? [];
    const draw = own.length > 0 ? movementDraw(own, rng) : sampleNormal(0, PRIOR_SD, rng);
    if (draw > bestDraw) {
      bestDraw = draw;
      best = m;
    }
  }
  return best;
}

/**
 * A module in proportion to how often it was blamed, as Thompson sampling on a Dirichlet(1 + blame):
 * the argmax of Gamma(1 + blame_m) draws. The most blamed module gets most proposals; the others keep
 * a chance that shrinks as the evidence against the leader grows.
 */
function blameDraw(modules: readonly string[], blame: Readonly<Record<string, number>>, rng: Rng): string {
  let best = modules[0]!;
  let bestDraw = Number.NEGATIVE_INFINITY;
  for (const m of modules) {
    const draw = sampleGamma(1 + (blame[m] ?? 0), rng);
    if (draw > bestDraw) {
      bestDraw = draw;
      best = m;
    }
  }
  return best;
}

interface Lift { lift: number; se: number }

/** A draw of how much changing this module moves the reward beyond noise (precision-weighted). */
function movementDraw(own: readonly Lift[], rng: Rng): number {
  let weights = 0;
  let sum = 0;
  for (const l of own) {
    const w = 1 / (l.se * l.se);
    weights += w;
    sum += w * (Math.abs(l.lift) - l.se * NOISE_FLOOR);
  }
  return sampleNormal(sum / weights, DRAW_SPREAD * ABS_SD * Math.sqrt(1 / weights), rng);
}

/** Each measured child's lift over its parent, by the module it changed. */
function measuredLifts(input: ModuleChoiceInput): Map<string, Lift[]> {
  const R = Math.max(1, input.rolloutsPerCandidate);
  const byId = new Map(input.candidates.map((c) => [c.id, c]));
  const out = new Map<string, Lift[]>();
  const min = Math.max(2, Math.round(R * MIN_REWARDS_SHARE_OF_R));
  for (const child of input.candidates) {
    if (!child.module || !child.parentId || child.stats.n < min) continue;
    const parent = byId.get(child.parentId);
    if (!parent || parent.stats.n < min) continue;
    const v = Math.max(input.rewardVariance, 1e-6);
    const se = Math.sqrt(v / child.stats.n + v / parent.stats.n);
    out.set(child.module, [...(out.get(child.module) ?? []), { lift: child.stats.mean - parent.stats.mean, se }]);
  }
  return out;
}
