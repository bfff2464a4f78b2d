import type { Rng } from '../../shared/rng.js';
import { sampleGamma } from './sampling.js';
import type { RunningStats } from './types.js';

/**
 * Which module a proposal changes. Pure.
 *
 * - `round_robin`: the module proposed for least often, in call order.
 * - `credit`: the module whose changes MOVE the reward most, up or down. Each module has an unknown
 *   movement scale s: a child that changed it lands at its parent's mean plus N(0, s^2). A measured
 *   child's lift over its parent is that plus the noise of both means, and siblings share their
 *   parent's noise, so the lifts of one parent's children are scored together (a lucky parent makes
 *   all of them look like regressions; only one piece of evidence). Each module gets the posterior
 *   mean of s on a grid (exponential prior, `PRIOR_SCALE`), and the proposal goes to the highest,
 *   ties at random.
 * - Whatever the rule, every module is first tried once, in call order; then, when the app gives
 *   blame (`feedback_by_module`), the blame decides (see `blame`), else the rule.
 *
 *   Why the first round: without it an untried module sat at the prior's mean (0.06 reward standard
 *   deviations), and in a real application any module's edits move the reward far more than that (a
 *   regression is an edit's most common outcome), so the first module tried kept every proposal: an
 *   outside-in run with the simulated policy sent 18 of 18, 19 of 19 and 15 of 15 proposals to one
 *   module, never trying the others. On the benchmark the round costs about 3 points of share to
 *   the bottleneck (59.6% against 62.2% over two blocks of 300 tuning replicates; 58.8% on the
 *   reported ones, against a 60% target), delivers the same program (+0.004 true mean on average),
 *   and no run leaves a module untried (20-35% of runs did): a deliberate trade-off
 *   (docs/optimizer-benchmark.md, "Module choice (session 9)").
 *
 *   Why magnitude, not sign: when success is a product over modules, a module's lifts in both
 *   directions scale with how much it limits the program, and regressions (an edit's most common
 *   outcome) are the most frequent evidence of that. Measured on bench/optimizer.ts "pipeline-3" (a)
 *   (seed request, tuning replicates), share of proposals to the bottleneck module: sign-based
 *   first version 34-40%, round-robin 30-33%, precision-weighted |lift| beyond the noise with a
 *   forced first round 54.5%; this rule without the first round (scale posterior, shared parents,
 *   random ties, proposals waiting for R rewards in programs: proposalTrigger.ts `measuredRewards`)
 *   about 62% over 900 tuning replicates ("Module choice (session 7)"). Bad children are not kept by
 *   this choice: parent choice and selection already discard them.
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
  /** Tries so far per module: the runner counts its children and its failed proposals. */
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
  /**
   * Proposals per module that made no child (the proposer's answer was refused: a dropped placeholder,
   * only repeats). `credit` weighs a module's movement by the share of its tries that made children, so
   * a module whose proposals keep failing stops taking every proposal; with none failed nothing changes.
   */
  failedByModule?: Readonly<Record<string, number>>;
}

/**
 * Mean of the exponential prior on a module's movement scale, in standard deviations of one reward
 * (0.03 for 0/1 rewards near 0.5). Tuning replicates: 0.02-0.05 on 0/1 rewards gave the same share
 * within a point.
 */
const PRIOR_SCALE = 0.06;
/** The scale grid: 0 to one reward standard deviation in 100 steps. */
const GRID_STEPS = 100;
/**
 * A child counts once it has R / 5 rewards (at least 2); the likelihood weighs each lift by its
 * noise, so a child measured on a few rewards adds little rather than nothing.
 */
const MIN_REWARDS_SHARE_OF_R = 0.2;

export function chooseModule(input: ModuleChoiceInput, rng: Rng): string | null {
  const { modules, proposalsByModule } = input;
  if (modules.length <= 1) return modules[0] ?? null;
  const count = (m: string) => proposalsByModule[m] ?? 0;
  const leastProposed = modules.reduce((best, m) => (count(m) < count(best) ? m : best), modules[0] ?? '');
  // Every module is tried once first, whatever the rule: no evidence can speak for a module never changed.
  if (count(leastProposed) === 0) return leastProposed;
  const blame = input.blame ?? {};
  if (modules.some((m) => (blame[m] ?? 0) > 0)) return blameDraw(modules, blame, rng);
  if (input.strategy === 'round_robin') return leastProposed;
  const variance = Math.max(input.rewardVariance, 1e-6);
  return largestMovement(modules, measuredLifts(input, variance), variance, successShares(input), rng);
}

/**
 * Per module, the share of its tries that made children, (1 + children) / (1 + children + failed):
 * 1 for a module with no failed proposal. An expected movement per proposal, not per child: a
 * proposal that will likely be refused moves nothing.
 */
function successShares(input: ModuleChoiceInput): ReadonlyMap<string, number> {
  const shares = new Map<string, number>();
  for (const m of input.modules) {
    const failed = input.failedByModule?.[m] ?? 0;
    if (failed === 0) continue;
    const children = input.candidates.filter((c) => c.module === m).length;
    shares.set(m, (1 + children) / (1 + children + failed));
  }
  return shares;
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

/**
 * The measured children of one parent that changed the same module: each child's lift over the
 * parent with the variance of the child's mean, and the variance of the parent's mean, which is in
 * every one of those lifts.
 */
interface Siblings { parentVariance: number; children: { lift: number; variance: number }[] }

/** The module with the highest posterior mean movement scale; ties (untried modules) at random. */
function largestMovement(modules: readonly string[], evidence: ReadonlyMap<string, readonly Siblings[]>, rewardVariance: number, shares: ReadonlyMap<string, number>, rng: Rng): string {
  const sd = Math.sqrt(rewardVariance);
  const grid = Array.from({ length: GRID_STEPS + 1 }, (_, i) => (sd * i) / GRID_STEPS);
  let best = modules[0]!;
  let bestScore = Number.NEGATIVE_INFINITY;
  let ties = 0;
  for (const m of modules) {
    const share = shares.get(m);
    const movement = posteriorMeanScale(grid, evidence.get(m) ?? [], PRIOR_SCALE * sd);
    const score = share === undefined ? movement : movement * share;
    // Untried modules score the prior's mean, bit for bit: one of them at random (reservoir sampling).
    if (score > bestScore) {
      bestScore = score;
      best = m;
      ties = 1;
    } else if (score === bestScore && rng.next() * ++ties < 1) {
      best = m;
    }
  }
  return best;
}

/** Posterior mean of the movement scale on the grid, given one module's measured children. */
function posteriorMeanScale(grid: readonly number[], groups: readonly Siblings[], priorScale: number): number {
  const logPosterior = grid.map((s) => groups.reduce((lp, g) => lp + siblingsLogLikelihood(g, s * s), -s / priorScale));
  const top = Math.max(...logPosterior);
  let weight = 0;
  let sum = 0;
  grid.forEach((s, i) => {
    const w = Math.exp(logPosterior[i]! - top);
    weight += w;
    sum += w * s;
  });
  return sum / weight;
}

/**
 * Log-likelihood (up to a constant) of one parent's children's lifts: a normal vector with covariance
 * diag(s^2 + child variance) + parent variance * 11^T (the parent's noise is in every lift), by the
 * Sherman-Morrison identities for the inverse and the determinant.
 */
function siblingsLogLikelihood({ parentVariance: c, children }: Siblings, s2: number): number {
  let logDet = 0;
  let quad = 0;
  let sumInv = 0;
  let sumLift = 0;
  for (const { lift, variance } of children) {
    const a = s2 + variance;
    logDet += Math.log(a);
    quad += (lift * lift) / a;
    sumInv += 1 / a;
    sumLift += lift / a;
  }
  const k = 1 + c * sumInv;
  return -0.5 * (logDet + Math.log(k)) - 0.5 * (quad - (c * sumLift * sumLift) / k);
}

/** The measured children's lifts over their parents, by the module they changed, grouped by parent. */
function measuredLifts(input: ModuleChoiceInput, v: number): Map<string, Siblings[]> {
  const R = Math.max(1, input.rolloutsPerCandidate);
  const byId = new Map(input.candidates.map((c) => [c.id, c]));
  const groups = new Map<string, Map<string, Siblings>>();
  const min = Math.max(2, Math.round(R * MIN_REWARDS_SHARE_OF_R));
  for (const child of input.candidates) {
    if (!child.module || !child.parentId || child.stats.n < min) continue;
    const parent = byId.get(child.parentId);
    if (!parent || parent.stats.n < min) continue;
    let byParent = groups.get(child.module);
    if (!byParent) groups.set(child.module, (byParent = new Map()));
    let siblings = byParent.get(parent.id);
    if (!siblings) byParent.set(parent.id, (siblings = { parentVariance: v / parent.stats.n, children: [] }));
    siblings.children.push({ lift: child.stats.mean - parent.stats.mean, variance: v / child.stats.n });
  }
  return new Map([...groups].map(([m, byParent]) => [m, [...byParent.values()]]));
}
