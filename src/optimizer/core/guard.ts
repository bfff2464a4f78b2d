import { confidenceSequence } from './confidence.js';
import type { Interval, RunningStats } from './types.js';

/**
 * The guard watches what a finished job serves. Production traffic can drift away from what the
 * optimizer measured (new inputs, a changed upstream model), so after the end the served
 * candidate's monitored rewards are compared with the score the job confirmed for it.
 *
 * The test is sequential and looked at after every monitored reward, so it must stay honest under
 * repeated looks: the monitored mean gets an anytime-valid confidence sequence (confidence.ts), and
 * the guard trips when that sequence's upper bound falls below the confirmed score's lower bound.
 * If the served candidate is in truth at least as good as its confirmed score, tripping needs the
 * monitored sequence to miss from above (probability <= alpha / 2 over the whole unbounded stream)
 * or the confirmed interval to miss from below (<= 0.05 / 2, a fixed interval computed once: val
 * and online statistics stop changing when the job ends). With alpha = 0.05 a false alarm has
 * probability <= 0.05, however long the job is watched.
 */

export type GuardMode = 'off' | 'alert' | 'revert';
export type GuardState = 'off' | 'watching' | 'tripped';

export const DEFAULT_GUARD_ALPHA = 0.05;

export interface ConfirmedScore {
  score: number;
  /** Its interval (val: fixed-n; online: anytime-valid), as best_score reports it. */
  ci: Interval;
  source: 'val' | 'online';
}

export interface GuardInput {
  mode: GuardMode;
  /** The guard already tripped for this candidate: the alarm is raised once. */
  tripped: boolean;
  /** Rewards of the served candidate after the end (split "monitor"). */
  monitored: RunningStats;
  /** Every reward of the candidate, optimized and monitored, lies in [0, 1]: the variance proxy 1/4 applies. */
  unitInterval: boolean;
  /** Null when the candidate was never measured (nothing to compare with: the guard cannot trip). */
  confirmed: ConfirmedScore | null;
  /** Scale prior for rewards outside [0, 1] (the job's pooled variance); see guardedVariance. */
  priorVariance?: number;
  /** Two-sided level of the monitored confidence sequence. Default 0.05. */
  alpha?: number;
}

export interface GuardVerdict {
  state: GuardState;
  /** True exactly when this look trips the guard (it was watching and the test fired). */
  trip: boolean;
  /** The monitored mean's anytime-valid interval; null before any monitored reward. */
  interval: Interval | null;
}

export function monitoredInterval(input: Pick<GuardInput, 'monitored' | 'unitInterval' | 'priorVariance' | 'alpha'>): Interval | null {
  if (input.monitored.n === 0) return null;
  const opts = input.priorVariance === undefined ? {} : { priorVariance: input.priorVariance };
  return confidenceSequence(input.monitored, input.alpha ?? DEFAULT_GUARD_ALPHA, input.unitInterval, opts);
}

/**
 * Whether monitored rewards can ever trip the guard against this confirmed score (both on the [0, 1]
 * scale). The monitored interval never reaches below 0, the bottom of the scale, so a confirmed
 * lower bound at 0 (a candidate promoted after a few rewards: n=4 gives [0, 1]) can never be passed
 * however badly production goes; nor can a missing one. A guard in that position watches nothing.
 */
export function guardCanTrip(confirmed: ConfirmedScore | null): boolean {
  return confirmed !== null && confirmed.ci[0] > 0;
}

export function guardVerdict(input: GuardInput): GuardVerdict {
  const interval = monitoredInterval(input);
  if (input.mode === 'off') return { state: 'off', trip: false, interval };
  if (input.tripped) return { state: 'tripped', trip: false, interval };
  const fires = interval !== null && input.confirmed !== null && interval[1] < input.confirmed.ci[0];
  return fires ? { state: 'tripped', trip: true, interval } : { state: 'watching', trip: false, interval };
}
