import { rankCandidates, type ChampionCandidate } from './champion.js';
import { confidenceSequence } from './confidence.js';
import { pooledVariance } from './statistics.js';
import type { Interval, RunningStats } from './types.js';

/**
 * mipro.stop_when_identified: the job may end by itself once its champion is identified — with
 * probability >= 1 - delta no candidate is better than it by more than epsilon — and nothing can
 * change that any more (no proposal can add a candidate).
 *
 * The test: the champion's lower bound is at least every other candidate's upper bound minus
 * epsilon, with anytime-valid confidence sequences (checked after every reward, so repeated looks
 * must stay honest). Why delta holds: a wrong stop needs the champion's lower side to miss (it is
 * one of the non-best candidates) or the truly best candidate's upper side to miss. The job never
 * holds more than M candidates (the candidate cap), so giving each candidate a two-sided sequence at
 * 2 delta / M (one side: delta / M) bounds the sum of those misses by (M - 1) delta / M + delta / M.
 *
 * With val seeds the champion must also have been confirmed on val: it has run every val seed (the
 * seed scheduler's confirmation of it is complete), so best_score is final when the job stops.
 */

export type StopCandidate = ChampionCandidate & { val: RunningStats };

export interface StopRuleInput {
  candidates: readonly StopCandidate[];
  rolloutsPerCandidate: number;
  epsilon: number;
  delta: number;
  /** The candidate cap (online_proposer_max_candidates): the most candidates the job can hold. */
  maxCandidates: number;
  /** No proposal can add a candidate: the cap is reached and no proposal is in flight. */
  poolFinal: boolean;
  /** How many val seeds the job holds out (0: nothing to confirm). */
  valSeedCount: number;
}

export type StopDecision =
  | { stop: true; championId: string; lowerBound: number; rivalId: string | null; rivalUpperBound: number | null }
  | { stop: false; reason: 'pool_open' | 'no_champion' | 'not_identified' | 'not_confirmed' };

/** The per-candidate level of the identification intervals (two-sided). */
export function identificationAlpha(delta: number, candidates: number, maxCandidates: number): number {
  return Math.min(1, (2 * delta) / Math.max(1, maxCandidates, candidates));
}

export function stopDecision(input: StopRuleInput): StopDecision {
  if (!input.poolFinal) return { stop: false, reason: 'pool_open' };
  const champion = rankCandidates(input.candidates, input.rolloutsPerCandidate)[0];
  if (!champion) return { stop: false, reason: 'no_champion' };
  const interval = identificationInterval(input);
  const lower = interval(champion)[0];
  let rival: { id: string; upper: number } | null = null;
  for (const c of input.candidates) {
    if (c.id === champion.id) continue;
    const upper = interval(c)[1];
    if (!rival || upper > rival.upper) rival = { id: c.id, upper };
  }
  if (rival && lower < rival.upper - input.epsilon) return { stop: false, reason: 'not_identified' };
  const full = input.candidates.find((c) => c.id === champion.id);
  if (input.valSeedCount > 0 && (full?.val.n ?? 0) < input.valSeedCount) return { stop: false, reason: 'not_confirmed' };
  return { stop: true, championId: champion.id, lowerBound: lower, rivalId: rival?.id ?? null, rivalUpperBound: rival?.upper ?? null };
}

/** Every candidate's interval (retired ones too: their statistics stop, their bounds stay valid). */
function identificationInterval(input: StopRuleInput): (c: ChampionCandidate) => Interval {
  const unit = input.candidates.every((c) => c.unitInterval);
  const alpha = identificationAlpha(input.delta, input.candidates.length, input.maxCandidates);
  const priorVariance = unit ? 1 : pooledVariance(input.candidates.map((c) => c.stats));
  return (c) => confidenceSequence(c.stats, alpha, unit, { priorVariance });
}
