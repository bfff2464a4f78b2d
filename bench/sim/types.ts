import type { Interval, RunningStats } from '../../src/optimizer/core/index.js';

/** One arm (candidate instruction) of a simulated job, with the bookkeeping a runner would keep. */
export interface SimArm {
  id: string;
  isControl: boolean;
  status: 'active' | 'retired';
  createdOrder: number;
  theta: number;
  trueMean: number;
  dispatches: number;
  inFlight: number;
  /** Online (bootstrap + online) rewards. */
  stats: RunningStats;
  unitInterval: boolean;
  val: RunningStats;
  valBySeed: Record<number, number>;
  valSeedsIssued: number[];
}

/** What a policy reports at the end of the budget. */
export interface PolicyReport {
  championId: string;
  /** The reported best_score interval, if any. */
  ci: Interval | null;
  /** Whether a significant lift over the control is reported. */
  significantLift: boolean;
}

export interface Policy {
  readonly name: string;
  /** Whether val seeds are scheduled to confirm the champion (miprox only). */
  readonly confirmsOnVal: boolean;
  /** The arm for the next online rollout. */
  select(arms: readonly SimArm[], step: number): string;
  /** Arms to retire after new rewards arrived. */
  retire(arms: readonly SimArm[]): string[];
  /** Confirmation targets for the val scheduler. */
  confirmationTargets(arms: readonly SimArm[]): string[];
  report(arms: readonly SimArm[]): PolicyReport;
}

export interface SimConfig {
  budget: number;
  rolloutsPerCandidate: number;
  proposerMinRollouts: number;
  maxCandidates: number;
  instructionsPerBatch: number;
  /** Rollouts between a proposal starting and its candidates existing (the proposer LLM's latency). */
  proposalLag: number;
  /** Rewards arrive 1..maxDelay rollouts after dispatch (uniform). */
  maxDelay: number;
  missingRate: number;
  /** A missing reward stops counting as in flight after this many rollouts. */
  rewardTtl: number;
  seeds: { bootstrap: number; online: number; val: number };
  /** One rollout in this many is a val rollout while confirmation is pending (the scheduler's valEvery). */
  valEvery: number;
  baselineTheta: { mean: number; sd: number };
}

export interface Setting {
  name: string;
  /** Child theta = parent theta + N(mu, sigma); null mu: the child is identical to its parent. */
  childMu: number | null;
  childSigma: number;
}

export interface ReplicateResult {
  cumulativeRegret: number;
  identified: boolean;
  simpleRegret: number;
  /** Null when the policy reported no interval. */
  covered: boolean | null;
  significantLift: boolean;
  /** Whether the champion is truly better than the control by more than the identification tolerance. */
  championTrulyBetter: boolean;
  valRollouts: number;
  retired: number;
  arms: number;
}
