import { BASELINE_ID } from '../../shared/ids.js';
import type { CandidateRecord, JobRecord, Store } from '../../store/types.js';
import { bestScore } from '../core/champion.js';
import { guardCanTrip, guardVerdict, type ConfirmedScore, type GuardState, type GuardVerdict } from '../core/guard.js';
import { intervalFromUnit, type RewardRange, toUnitStats } from '../core/rewardRange.js';
import type { RunningStats } from '../core/types.js';

/**
 * The runner side of the guard (core/guard.ts): after each monitored reward of the candidate a
 * finished job serves, ask the pure verdict and, when it trips, record that once (the store's
 * compare-and-set makes it once across instances) and, with "revert", serve the baseline.
 */

/**
 * What a finished job serves (null while it runs): as the engine's dispatch decides it. Jobs that
 * ended before served_candidate_id existed serve their last best candidate or the baseline.
 */
export function servedCandidateId(job: JobRecord): string | null {
  if (job.status === 'running' || job.status === 'paused') return null;
  return job.servedCandidateId ?? (job.status === 'succeeded' ? job.bestCandidateId : null) ?? BASELINE_ID;
}

/** What the guard is about: the candidate it tripped for, else what the finished job serves; null while the job runs. */
export function watchedCandidateId(job: JobRecord): string | null {
  return job.guardTrippedCandidateId ?? servedCandidateId(job);
}

/**
 * Seed-level statistics (job units; core/seedClusters.ts) of a candidate's training and monitored
 * rewards, undefined when none carried a seed. When rewards carry seeds the guard compares seeds, as
 * every other figure does: monitored traffic that repeats a few seeds (at temperature 0, the same
 * answer each time) is a few observations, not hundreds, and must not trip the guard by itself.
 */
export interface GuardSeedLevel {
  online?: (candidateId: string) => RunningStats | undefined;
  monitor?: (candidateId: string) => RunningStats | undefined;
}

/**
 * The score the job confirmed for a candidate: its val mean when it has val rewards, else its online
 * mean (seed-level when its rewards carried seeds), with the interval best_score reports.
 */
export function confirmedScore(c: CandidateRecord, range: RewardRange, onlineSeedStats?: RunningStats): ConfirmedScore | null {
  // On rewards rescaled to [0, 1] by the declared range, like every statistic (core/rewardRange.ts).
  const seedStats = onlineSeedStats && toUnitStats(onlineSeedStats, range);
  const s = bestScore({ stats: toUnitStats(c.online, range), seedStats, val: toUnitStats(c.val, range), unitInterval: true }, 0.05);
  return s.score === null || s.ci === null || s.source === null ? null : { score: s.score, ci: s.ci, source: s.source };
}

/** A unit-scale score back in the job's reward units. */
function inRewardUnits(s: ConfirmedScore, range: RewardRange): ConfirmedScore {
  return { ...s, score: range[0] + s.score * (range[1] - range[0]), ci: intervalFromUnit(s.ci, range) };
}

/**
 * The verdict's states, plus "not_serving": the job still runs (each rollout is chosen), so nothing
 * single is served and watched yet; the guard starts at the end.
 */
export type GuardReportState = GuardState | 'not_serving';

export interface GuardReport extends Omit<GuardVerdict, 'state'> {
  state: GuardReportState;
  candidateId: string | null;
  confirmed: ConfirmedScore | null;
  /**
   * A watching guard whose candidate's monitored rewards can trip it: false while nothing is served,
   * once tripped, when off, and when the confirmed score's lower bound is the bottom of the reward
   * range (guardCanTrip), so that a guard that can never act does not read as one on watch.
   */
  canTrip: boolean;
}

/** The guard's verdict on a job as it stands (also what job views show); `trip`: this look fires. */
export function guardReport(job: JobRecord, candidates: readonly CandidateRecord[], seedLevel: GuardSeedLevel = {}): GuardReport {
  const id = watchedCandidateId(job);
  const c = id === null ? undefined : candidates.find((x) => x.id === id);
  const mode = job.config.mipro.guard;
  if (!c) {
    const state: GuardReportState = mode === 'off' ? 'off' : id === null ? 'not_serving' : 'watching';
    return { candidateId: id, confirmed: null, state, trip: false, interval: null, canTrip: false };
  }
  const range = job.config.mipro.reward_range;
  const confirmed = confirmedScore(c, range, seedLevel.online?.(c.id));
  // Judged on the [0, 1] scale (a monotone rescaling keeps the comparison), reported in reward units.
  const verdict = guardVerdict({
    mode,
    tripped: job.guardTrippedCandidateId !== null,
    monitored: toUnitStats(seedLevel.monitor?.(c.id) ?? c.monitor, range),
    unitInterval: true,
    confirmed,
  });
  return {
    ...verdict, interval: verdict.interval && intervalFromUnit(verdict.interval, range),
    // The state says what was done: a trip this look would fire is recorded (event, revert) by
    // checkGuard at the next monitored reward - e.g. a promoted candidate whose earlier monitored
    // rewards had already collapsed - and until then the guard is still watching.
    state: verdict.trip ? 'watching' : verdict.state,
    candidateId: c.id, confirmed: confirmed && inRewardUnits(confirmed, range),
    canTrip: (verdict.trip || verdict.state === 'watching') && guardCanTrip(confirmed),
  };
}

/**
 * Called after a monitored reward of `candidateId` was committed and applied to `candidates`.
 * Returns the job as it is after a trip (null: nothing changed).
 */
export async function checkGuard(store: Store, job: JobRecord, candidates: readonly CandidateRecord[], candidateId: string, seedLevel: GuardSeedLevel = {}): Promise<JobRecord | null> {
  if (job.config.mipro.guard === 'off' || job.guardTrippedCandidateId !== null || servedCandidateId(job) !== candidateId) return null;
  const report = guardReport(job, candidates, seedLevel);
  if (!report.trip || !report.interval || !report.confirmed) return null;
  const c = candidates.find((x) => x.id === candidateId);
  const revert = job.config.mipro.guard === 'revert' && candidateId !== BASELINE_ID;
  const { interval, confirmed } = report;
  return store.tripGuard(job.id, candidateId, revert ? BASELINE_ID : null, {
    eventType: 'mipro.guard.tripped',
    message: `${candidateId}: monitored rewards (upper bound ${interval[1].toFixed(3)}) fell below its confirmed score's lower bound ${confirmed.ci[0].toFixed(3)}`
      + (revert ? '; the job now serves the baseline' : ''),
    data: {
      candidate_id: candidateId,
      mode: job.config.mipro.guard,
      monitored: { n: c?.monitor.n ?? 0, mean: c?.monitor.mean ?? null, ci: interval },
      confirmed: { score: confirmed.score, ci: confirmed.ci, source: confirmed.source },
      reverted: revert,
      served_candidate_id: revert ? BASELINE_ID : candidateId,
    },
  });
}
