import type { Rng } from '../../shared/rng.js';
import { posteriorMean, posteriorOf, rewardModelFor, servedStats, thompsonDraw, type RewardModel } from './statistics.js';
import type { CandidateView } from './types.js';

/**
 * Which candidate serves the next rollout. Candidates are served in stints of R rollouts (R =
 * online_rollouts_per_candidate) so each one is judged on a run of traffic; a new candidate first
 * gets R dispatches (the nursery); afterwards Thompson sampling spends traffic in proportion to the
 * chance each candidate is best, with a small floor on the control so the baseline keeps being
 * measured on current traffic. Once no more candidates can arrive (`identify`), the fresh draws
 * turn to best-arm identification: the leader and its strongest challenger share the traffic until
 * they are told apart (see `identificationPick`).
 */

export interface Stint {
  candidateId: string;
  /** Rollouts this stint still owes its candidate after the current one. */
  remaining: number;
}

export type SelectionCandidate = Pick<
  CandidateView,
  'id' | 'isControl' | 'status' | 'dispatches' | 'inFlight' | 'stats' | 'seedStats' | 'unitInterval' | 'createdOrder'
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
  /**
   * The candidate pool is final (online_proposer_max_candidates reached): no proposal can bring a
   * new candidate, so the remaining traffic is better spent telling the leader from its strongest
   * challenger than on Thompson sampling alone. Default false.
   */
  identify?: boolean;
  /**
   * mipro.stop_when_identified is on and its champion not yet identified (core/stopRule.ts
   * `stopPair`): fresh stints go half to the leader, half to the rival blocking the stop, instead
   * of the identification phase's own pair.
   */
  stopPair?: { leaderId: string; rivalId: string } | null;
}

/**
 * `identify`: a leader-or-challenger stint of the identification phase. `fallback`: nothing was
 * selectable (every candidate capped): the control serves.
 */
export type SelectionReason = 'stint' | 'nursery' | 'thompson' | 'identify' | 'control_floor' | 'fallback';

export interface Selection {
  candidateId: string;
  reason: SelectionReason;
  /** The stint to remember for the next call (null when none is running). */
  stint: Stint | null;
}

export const DEFAULT_CONTROL_FLOOR = 0.05;
/**
 * Identification phase: the challenger's optimistic bound is mean + IDENTIFY_Z posterior standard
 * deviations, and the leader counts as told apart once its pessimistic bound is within
 * IDENTIFY_EPSILON of the challenger's optimistic one (a gap below 1 point on [0, 1] rewards is not
 * worth more traffic; on other reward scales epsilon is in reward units). z = 2 did best in the
 * benchmark (1 and 3 gained nothing).
 */
export const IDENTIFY_Z = 2;
export const IDENTIFY_EPSILON = 0.01;

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
  const model = rewardModelFor(input.candidates);
  if (input.stopPair) {
    const target = rng.next() < 0.5 ? input.stopPair.leaderId : input.stopPair.rivalId;
    const pick = eligible.find((c) => c.id === target);
    if (pick) return startStint(pick, 'identify');
  }
  if (input.identify) {
    const pick = identificationPick(eligible, model, rng);
    if (pick) return startStint(pick, 'identify');
  }
  const best = thompsonDraw(eligible, model, rng, servedStats);
  if (best) return startStint(best, 'thompson');

  const fallback = control ?? input.candidates.filter((c) => c.status === 'active').sort((a, b) => a.inFlight - b.inFlight)[0];
  return fallback ? { candidateId: fallback.id, reason: 'fallback', stint: null } : null;
}

/**
 * Gives a stint back the slot it spent on a rollout that turned out to be known already (claimed
 * first by another instance, or scheduled): the candidate's stint owes it one more rollout, also
 * when that slot was its last (no stint running now). When another candidate's stint runs since,
 * it stays: the candidate's run ended one rollout short (only when a known id races the last
 * slots of a stint and a new stint starts meanwhile).
 */
export function returnStintSlot(stint: Stint | null, candidateId: string): Stint | null {
  if (stint === null) return { candidateId, remaining: 1 };
  return stint.candidateId === candidateId ? { candidateId, remaining: stint.remaining + 1 } : stint;
}

function belowShare(control: SelectionCandidate, candidates: readonly SelectionCandidate[], floor: number): boolean {
  const total = candidates.reduce((sum, c) => sum + c.dispatches, 0);
  return control.dispatches < floor * total;
}

/**
 * LUCB-style allocation (Kalyanakrishnan et al. 2012) for the identification phase. The leader is
 * the candidate with the best posterior mean; the challenger is the other candidate with the
 * highest optimistic bound (mean + z posterior sd), so a candidate that was starved after an
 * unlucky start still gets re-measured while its bound says it could be best. Each fresh stint
 * goes to the leader or the challenger with equal probability. Once the leader's pessimistic bound
 * clears the challenger's optimistic one (within epsilon), the pair is told apart and this returns
 * undefined: Thompson sampling resumes, which keeps the regret of a settled job low.
 * Why not Thompson sampling alone: it starves a candidate whose first stint was unlucky, and the
 * champion then often is the second best (benchmark at 2,000 rollouts: +4 to +5 points of
 * identification with worse and better children, within noise with neutral ones). Why only once the
 * pool is final: earlier, the pair it measures is soon displaced by new candidates (run from the
 * start of the job it did no better than Thompson sampling alone). Why not top-two Thompson
 * sampling: tried, it spreads the challenger's share over many plausible candidates and gained
 * nothing measurable.
 */
export function identificationPick<C extends SelectionCandidate>(eligible: readonly C[], model: RewardModel, rng: Rng): C | undefined {
  if (eligible.length < 2) return undefined;
  const scored = eligible.map((c) => {
    // At the rollouts' weight, as Thompson sampling: the phase spends traffic (statistics.ts `servedStats`).
    const evidence = servedStats(c);
    const posterior = posteriorOf(evidence, model);
    const mean = posteriorMean(posterior);
    // For [0, 1] rewards the variance proxy 1/4 (as in the confidence sequences): the Beta
    // posterior's own variance is too confident for a candidate that started on a lucky streak.
    const sd = posterior.kind === 'beta' ? Math.sqrt(0.25 / (evidence.n + 2)) : Math.sqrt(posterior.variance);
    return { c, mean, lo: mean - IDENTIFY_Z * sd, hi: mean + IDENTIFY_Z * sd };
  });
  const leader = scored.reduce((a, b) => (b.mean > a.mean ? b : a));
  const challenger = scored.filter((s) => s !== leader).reduce((a, b) => (b.hi > a.hi ? b : a));
  if (leader.lo > challenger.hi - IDENTIFY_EPSILON) return undefined;
  return rng.next() < 0.5 ? leader.c : challenger.c;
}
