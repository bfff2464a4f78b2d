import { toUnitStats } from '../core/rewardRange.js';
import { stopDecision, stopPair, type StopRuleInput } from '../core/stopRule.js';
import { toCandidateView, type JobRuntime } from './jobRuntime.js';
import { poolIsFinal } from './proposerSpend.js';
import { flaggedIds, missingVerdicts } from './missingRewards.js';

/** What the stop check reads from the database, only once the cached state says stop. */
export interface StopReads {
  valSeedsIssued(): Promise<ReadonlyMap<string, readonly number[]>>;
  /**
   * The pool may still change or has changed behind this instance's cache: a proposal holds a live
   * lease (on any instance), or the job holds more candidates than the cache knows (a proposal that
   * just finished elsewhere; its children have no rewards yet).
   */
  poolUnsettled(cachedCandidates: number): Promise<boolean>;
}

/**
 * mipro.stop_when_identified, checked after each reward (core/stopRule.ts): the reason to end the
 * job when its champion is identified and no proposal can add a candidate; null otherwise (also
 * when the rule is not configured).
 */
export async function stopReason(rt: JobRuntime, reads: StopReads): Promise<string | null> {
  const input = stopInput(rt);
  if (!input) return null;
  const mipro = rt.job.config.mipro;
  // The reason is read by the app in its own reward units: the configured epsilon and the bounds
  // mapped back from the [0, 1] scale the decision works on (it said "within 0.05" for epsilon 5 on [0, 100]).
  const rule = mipro.stop_when_identified ?? { epsilon: input.epsilon, delta: input.delta };
  const [lo, hi] = mipro.reward_range;
  const inUnits = (x: number): string => (lo + x * (hi - lo)).toFixed(3);
  // Identification first (from the cache); only then the database read for the val confirmation.
  if (!stopDecision(input).stop) return null;
  const issued = await reads.valSeedsIssued();
  // Distinct seeds on both sides: a seed listed twice in val_seeds runs once per candidate (the
  // scheduler's unique (candidate, val seed) slot), so counting list entries never saw it complete.
  const decision = stopDecision({ ...input, valSeedCount: new Set(mipro.val_seeds).size, valIssuedOf: (id) => new Set(issued.get(id)).size });
  if (!decision.stop) return null;
  // Below the candidate cap the pool is final because the proposer's spend is: the proposal whose
  // call reached the cap may still be adding its candidates, on this instance or another.
  if (rt.candidates.length < mipro.online_proposer_max_candidates && await reads.poolUnsettled(rt.candidates.length)) return null;
  const rival = decision.rivalId === null ? '' : ` (best rival ${decision.rivalId}: upper bound ${decision.rivalUpperBound === null ? '-' : inUnits(decision.rivalUpperBound)})`;
  return `stop_when_identified: ${decision.championId} identified within ${rule.epsilon} at confidence ${1 - rule.delta}, lower bound ${inUnits(decision.lowerBound)}${rival}`;
}

/**
 * With the rule on: the champion it has identified (pool final, identification holding) is the
 * control. The seed scheduler confirms only a champion other than the control (the lift needs one),
 * so without this the control never runs a val seed, its confirmation never completes, and a job
 * whose baseline is best would never stop by itself. Cache only: the stop check reads the rest.
 */
export function controlAwaitsConfirmation(rt: JobRuntime, controlId: string): boolean {
  const input = stopInput(rt);
  if (!input) return false;
  const decision = stopDecision(input);
  return decision.stop && decision.championId === controlId;
}

/** With the rule on: the pair selection should measure next (the champion and the rival blocking the stop). */
export function stopPairFor(rt: JobRuntime): { leaderId: string; rivalId: string } | null {
  const input = stopInput(rt);
  return input ? stopPair(input) : null;
}

function stopInput(rt: JobRuntime): StopRuleInput | null {
  const mipro = rt.job.config.mipro;
  const rule = mipro.stop_when_identified;
  if (!rule) return null;
  const range = mipro.reward_range;
  return {
    // On the [0, 1] scale of the declared range, like every statistic; epsilon is in reward units.
    candidates: rt.candidates.map((c) => ({ ...toCandidateView(c, rt.inFlightOf(c.id), range, rt.seedStatsOf(c.id)), val: toUnitStats(c.val, range) })),
    rolloutsPerCandidate: mipro.online_rollouts_per_candidate,
    epsilon: rule.epsilon / (range[1] - range[0]),
    delta: rule.delta,
    maxCandidates: mipro.online_proposer_max_candidates,
    // A proposal in flight may still add a candidate.
    poolFinal: poolIsFinal(rt) && !rt.proposalRunning,
    valSeedCount: 0,
    // A candidate losing significantly more rewards than the control cannot be champion (its mean is
    // biased): the job would serve another at the end, so the rule must not identify it either.
    excluded: flaggedIds(missingVerdicts(rt.candidates, rt.missing)),
  };
}
