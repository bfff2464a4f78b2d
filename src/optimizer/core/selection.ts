import type { Rng } from '../../shared/rng.js';
import { rewardModelFor, thompsonDraw } from './statistics.js';
import type { CandidateView } from './types.js';

/**
 * Which candidate serves the next rollout. Candidates are served in stints of R rollouts (R =
 * online_rollouts_per_candidate) so each one is judged on a run of traffic; a new candidate first
 * gets R dispatches (the nursery); afterwards Thompson sampling spends traffic in proportion to the
 * chance each candidate is best, with a small floor on the control so the baseline keeps being
 * measured on current traffic.
 */

export interface Stint {
  candidateId: string;
  /** Rollouts this stint still owes its candidate after the current one. */
  remaining: number;
}

export type SelectionCandidate = Pick<
  CandidateView,
  'id' | 'isControl' | 'status' | 'dispatches' | 'inFlight' | 'stats' | 'unitInterval' | 'createdOrder'
>;

export interface SelectionInput {
  candidates: readonly SelectionCandidate[];
  stint: Stint | null;
  /** online_rollouts_per_candidate (R). */
  rolloutsPerCandidate: number;
  /**
   * Probability of forcing the control on a fresh draw, applied only while the control holds less
   * than this share of all dispatches. Default 0.05.
   */
  controlFloor?: number;
  /**
   * Most in-flight rollouts an unproven candidate (fewer than R rewards) may hold; default max(1, R).
   * Under a burst, a candidate with no evidence cannot soak up the traffic; others are served.
   */
  inFlightCap?: number;
}

/** `fallback`: nothing was selectable (every candidate capped): the control serves. */
export type SelectionReason = 'stint' | 'nursery' | 'thompson' | 'control_floor' | 'fallback';

export interface Selection {
  candidateId: string;
  reason: SelectionReason;
  /** The stint to remember for the next call (null when none is running). */
  stint: Stint | null;
}

export const DEFAULT_CONTROL_FLOOR = 0.05;

/** Null only when there is neither a control nor any active candidate. */
export function selectCandidate(input: SelectionInput, rng: Rng): Selection | null {
  const R = Math.max(1, Math.floor(input.rolloutsPerCandidate));
  const cap = input.inFlightCap ?? Math.max(1, R);
  const floor = input.controlFloor ?? DEFAULT_CONTROL_FLOOR;
  const open = (c: SelectionCandidate): boolean => c.status === 'active' && !(c.stats.n < R && c.inFlight >= cap);
  const startStint = (c: SelectionCandidate, reason: SelectionReason): Selection => ({
    candidateId: c.id,
    reason,
    stint: R > 1 ? { candidateId: c.id, remaining: R - 1 } : null,
  });

  if (input.stint && input.stint.remaining > 0) {
    const current = input.candidates.find((c) => c.id === input.stint?.candidateId);
    if (current && open(current)) {
      const remaining = input.stint.remaining - 1;
      return { candidateId: current.id, reason: 'stint', stint: remaining > 0 ? { candidateId: current.id, remaining } : null };
    }
  }

  const nursery = input.candidates
    .filter((c) => open(c) && c.dispatches < R)
    .sort((a, b) => a.dispatches - b.dispatches || a.createdOrder - b.createdOrder)[0];
  if (nursery) {
    // A nursery stint only tops the candidate up to R dispatches.
    const remaining = R - nursery.dispatches - 1;
    return { candidateId: nursery.id, reason: 'nursery', stint: remaining > 0 ? { candidateId: nursery.id, remaining } : null };
  }

  const control = input.candidates.find((c) => c.isControl);
  // The floor is a floor on the control's share of traffic: it keeps the baseline measured on
  // current traffic. Once the control already holds that share (bootstrap, val confirmation or its
  // own draws), forcing it more would only add regret.
  const forceControl = rng.next() < floor && control !== undefined && belowShare(control, input.candidates, floor);
  if (forceControl && control && open(control)) return startStint(control, 'control_floor');

  const eligible = input.candidates.filter(open);
  const best = thompsonDraw(eligible, rewardModelFor(input.candidates), rng);
  if (best) return startStint(best, 'thompson');

  const fallback = control ?? input.candidates.filter((c) => c.status === 'active').sort((a, b) => a.inFlight - b.inFlight)[0];
  return fallback ? { candidateId: fallback.id, reason: 'fallback', stint: null } : null;
}

function belowShare(control: SelectionCandidate, candidates: readonly SelectionCandidate[], floor: number): boolean {
  const total = candidates.reduce((sum, c) => sum + c.dispatches, 0);
  return control.dispatches < floor * total;
}
