/**
 * Plain, serializable data the optimizer core works on. The runner loads these from the store
 * (CandidateRecord maps onto CandidateView one field at a time) and passes them in; the core never
 * reads a database, a clock or Math.random.
 */

/** Welford's running moments of a reward stream: count, mean, and sum of squared deviations. */
export interface RunningStats {
  n: number;
  mean: number;
  m2: number;
}

export type CandidateStatus = 'active' | 'retired';

/** What the core needs to know about one candidate instruction. */
export interface CandidateView {
  id: string;
  /** The baseline: a permanent control arm, never retired. */
  isControl: boolean;
  status: CandidateStatus;
  /** Creation order within the job, baseline = 0. Used for tie-breaks and delta spending. */
  createdOrder: number;
  /** Rollouts ever dispatched to this candidate (rewarded or not). */
  dispatches: number;
  /** Dispatched rollouts whose reward has neither arrived nor expired. */
  inFlight: number;
  /** Online (bootstrap + online split, never val) rewards, one observation per reward. */
  stats: RunningStats;
  /**
   * The same rewards at seed level (seedClusters.ts): one observation per distinct seed (its mean
   * reward) plus one per unseeded reward. Absent when no reward carried a seed. Every inference
   * (posteriors, intervals, lifts) reads `evidenceStats(c)`; gates counting rewards read `stats.n`.
   */
  seedStats?: RunningStats | undefined;
  /** True while every reward seen so far lies in [0, 1]: the Beta model applies. */
  unitInterval: boolean;
}

/** A closed interval [lo, hi]. */
export type Interval = [number, number];
