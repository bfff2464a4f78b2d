import { rankCandidates, type ChampionCandidate } from './champion.js';
import { confidenceSequence } from './confidence.js';
import { evidenceStats, pooledVariance } from './statistics.js';
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
 * With val seeds the champion must also have been confirmed on val: the scheduler has issued it
 * every val seed (its confirmation is complete) and at least one val reward came back, so
 * best_score is its val score when the job stops.
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
  /**
   * Val seeds the scheduler has issued to a candidate (rewarded or not: a missing reward is never
   * re-issued, so counting rewards could wait forever). Needed only when valSeedCount > 0.
   */
  valIssuedOf?: (candidateId: string) => number;
  /**
   * Candidates that may not be champion (flagged for losing rewards, runner/missingRewards.ts), as
   * for pickChampion: the rule identifies the champion the job would serve, never one of these. They
   * stay rivals (their upper bounds still block the stop).
   */
  excluded?: ReadonlySet<string>;
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
  const race = identificationRace(input);
  if (!race) return { stop: false, reason: 'no_champion' };
  const { champion, lower, rival } = race;
  if (rival && lower < rival.upper - input.epsilon) return { stop: false, reason: 'not_identified' };
  const confirmed = champion.val.n > 0 && (input.valIssuedOf?.(champion.id) ?? 0) >= input.valSeedCount;
  if (input.valSeedCount > 0 && !confirmed) return { stop: false, reason: 'not_confirmed' };
  return { stop: true, championId: champion.id, lowerBound: lower, rivalId: rival?.id ?? null, rivalUpperBound: rival?.upper ?? null };
}

/**
 * What stands between the job and its stop: the champion and the active rival with the highest
 * upper bound, while the champion is not yet identified (null otherwise, and while the pool is
 * open). Selection gives this pair the fresh stints (LUCB on the rule's own intervals): Thompson
 * sampling starves the rivals, whose wide bounds then keep the rule from ever holding.
 */
export function stopPair(input: StopRuleInput): { leaderId: string; rivalId: string } | null {
  if (!input.poolFinal) return null;
  const race = identificationRace(input, (c) => c.status === 'active');
  if (!race?.rival || race.lower >= race.rival.upper - input.epsilon) return null;
  return { leaderId: race.champion.id, rivalId: race.rival.id };
}

function identificationRace(input: StopRuleInput, isRival: (c: StopCandidate) => boolean = () => true) {
  const championId = rankCandidates(input.candidates, input.rolloutsPerCandidate, input.excluded ? { excluded: input.excluded } : {})[0]?.id;
  const champion = input.candidates.find((c) => c.id === championId);
  if (!champion) return null;
  const interval = identificationInterval(input);
  let rival: { id: string; upper: number; n: number } | null = null;
  for (const c of input.candidates) {
    if (c.id === champion.id || !isRival(c)) continue;
    const upper = interval(c)[1];
    const n = evidenceStats(c).n;
    // Equal upper bounds (clipped at the top of the range, with rewards near it): the least measured
    // rival, whose stints shrink its bound most. First in the list, a well measured baseline stayed
    // the rival while barely measured children kept the stop back for good.
    if (!rival || upper > rival.upper || (upper === rival.upper && n < rival.n)) rival = { id: c.id, upper, n };
  }
  return { champion, lower: interval(champion)[0], rival };
}

/** Every candidate's interval (retired ones too: their statistics stop, their bounds stay valid). */
function identificationInterval(input: StopRuleInput): (c: ChampionCandidate) => Interval {
  const unit = input.candidates.every((c) => c.unitInterval);
  const alpha = identificationAlpha(input.delta, input.candidates.length, input.maxCandidates);
  const priorVariance = unit ? 1 : pooledVariance(input.candidates.map(evidenceStats));
  return (c) => confidenceSequence(evidenceStats(c), alpha, unit, { priorVariance });
}
