import type { Rng } from '../../shared/rng.js';
import { sampleNormal } from './sampling.js';
import type { RunningStats } from './types.js';

/**
 * Which module a proposal changes. Pure.
 *
 * - `round_robin`: the module proposed for least often, in call order.
 * - `credit`: every module is tried once (in call order); after that, Thompson sampling over the
 *   modules on what changing each one did: for each child already measured (>= R rewards, and its
 *   parent too) the lift over its parent with its standard error; a module's draw is the best of
 *   its children's draws. A module whose changes moved the reward keeps getting proposals; one whose
 *   changes did nothing or hurt is left alone. A module with no measured child yet draws from a
 *   wide prior, so none is starved.
 *
 * bench/optimizer.ts ("pipeline-3") measures both; `credit` is the default (see docs/optimizer.md).
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
  /** Proposals made so far per module (successful or not). */
  proposalsByModule: Readonly<Record<string, number>>;
  rolloutsPerCandidate: number;
  /** Variance of one reward, pooled over the job (for the lifts' standard errors). */
  rewardVariance: number;
  strategy: ModuleChoice;
}

/** Standard deviation of the prior on an untested module's lift. */
const PRIOR_SD = 0.1;

export function chooseModule(input: ModuleChoiceInput, rng: Rng): string | null {
  const { modules, proposalsByModule } = input;
  if (modules.length <= 1) return modules[0] ?? null;
  const count = (m: string) => proposalsByModule[m] ?? 0;
  const leastProposed = modules.reduce((best, m) => (count(m) < count(best) ? m : best), modules[0] ?? '');
  if (input.strategy === 'round_robin' || count(leastProposed) === 0) return leastProposed;
  const lifts = measuredLifts(input);
  let best: string | null = null;
  let bestDraw = Number.NEGATIVE_INFINITY;
  for (const m of modules) {
    const own = lifts.get(m) ?? [];
    const draws = own.length > 0 ? own.map((l) => sampleNormal(l.lift, l.se, rng)) : [sampleNormal(0, PRIOR_SD, rng)];
    const draw = Math.max(...draws);
    if (draw > bestDraw) {
      bestDraw = draw;
      best = m;
    }
  }
  return best;
}

interface Lift { lift: number; se: number }

/** Each measured child's lift over its parent, by the module it changed. */
function measuredLifts(input: ModuleChoiceInput): Map<string, Lift[]> {
  const R = Math.max(1, input.rolloutsPerCandidate);
  const byId = new Map(input.candidates.map((c) => [c.id, c]));
  const out = new Map<string, Lift[]>();
  for (const child of input.candidates) {
    if (!child.module || !child.parentId || child.stats.n < R) continue;
    const parent = byId.get(child.parentId);
    if (!parent || parent.stats.n < R) continue;
    const v = Math.max(input.rewardVariance, 1e-6);
    const se = Math.sqrt(v / child.stats.n + v / parent.stats.n);
    out.set(child.module, [...(out.get(child.module) ?? []), { lift: child.stats.mean - parent.stats.mean, se }]);
  }
  return out;
}
