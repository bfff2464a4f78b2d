import { confidenceSequence } from './confidence.js';
import { evidenceStats, pooledVariance } from './statistics.js';
import type { CandidateView, Interval } from './types.js';

/**
 * Retirement: stop serving a candidate once it is clearly worse than the leader. "Clearly" uses
 * anytime-valid confidence sequences, because the check runs after every reward and a fixed-n
 * interval looked at that often would retire good candidates by chance. Candidates keep arriving,
 * so the error budget delta is spent over an unbounded stream: the k-th candidate (1-based creation
 * order) gets delta / (k (k + 1)), and the sum over all k is delta.
 */

export type RetirementCandidate = Pick<CandidateView, 'id' | 'isControl' | 'status' | 'createdOrder' | 'stats' | 'seedStats' | 'unitInterval'>;

export interface RetirementOptions {
  /** online_rollouts_per_candidate: no verdict before a candidate has R rewards. */
  rolloutsPerCandidate: number;
  /** Total probability of ever retiring a candidate that is not worse than the leader. Default 0.05. */
  delta?: number;
}

export const DEFAULT_RETIREMENT_DELTA = 0.05;

/** Error budget of the candidate created k-th (createdOrder k - 1). */
export function candidateAlpha(createdOrder: number, delta = DEFAULT_RETIREMENT_DELTA): number {
  const k = Math.max(1, createdOrder + 1);
  return delta / (k * (k + 1));
}

/** Ids of active, non-control candidates to retire now (possibly none). */
export function candidatesToRetire(candidates: readonly RetirementCandidate[], opts: RetirementOptions): string[] {
  const R = Math.max(1, opts.rolloutsPerCandidate);
  const delta = opts.delta ?? DEFAULT_RETIREMENT_DELTA;
  const judged = candidates.filter((c) => c.status === 'active' && c.stats.n >= R);
  if (judged.length < 2) return [];
  const interval = retirementInterval(candidates, delta);
  // The leader is the candidate with the highest lower bound (not the highest mean: among tied
  // means, the best-measured one is the strongest evidence). Retiring c when its upper bound is
  // below any other candidate's lower bound stays valid: every bound holds at all times at once.
  const bounded = judged.map((c) => ({ c, ci: interval(c) })).sort((a, b) => b.ci[0] - a.ci[0]);
  const [leader, ...others] = bounded;
  if (!leader) return [];
  return others.filter(({ c, ci }) => !c.isControl && ci[1] < leader.ci[0]).map(({ c }) => c.id);
}

/**
 * The interval retirement judges a candidate by (also shown in the retirement event). Unbounded
 * rewards take their scale prior from every candidate's rewards.
 */
export function retirementInterval(candidates: readonly RetirementCandidate[], delta = DEFAULT_RETIREMENT_DELTA): (c: RetirementCandidate) => Interval {
  const unit = allUnit(candidates);
  const priorVariance = unit ? 1 : pooledVariance(candidates.map(evidenceStats)); // unused for [0, 1] rewards
  // Seed-level: a candidate run on 5 seeds has 5 observations however many times they were repeated.
  return (c) => confidenceSequence(evidenceStats(c), candidateAlpha(c.createdOrder, delta), unit, { priorVariance });
}

function allUnit(candidates: readonly { unitInterval: boolean }[]): boolean {
  return candidates.every((c) => c.unitInterval);
}
