import type { Interval, RunningStats } from '../../src/optimizer/core/index.js';
import type { SeedLedger } from '../../src/optimizer/core/seedClusters.js';
import type { Rng } from '../../src/shared/rng.js';

/** What the world knows about one arm: its true mean and how it draws a reward on a seed. */
export interface ArmModel {
  trueMean: number;
  /** One binary reward on this seed; consumes exactly one draw of `rng`. */
  reward(seed: number, rng: Rng): number;
  /** The module this arm changed from its parent (program worlds); null otherwise. */
  module: string | null;
  /**
   * Informative missingness: the probability that this reward never arrives on top of the job's
   * missingRate (e.g. a child that drops its reward when it fails). Absent: rewards go missing at random.
   */
  dropChance?(reward: number): number;
}

/** The random streams of one replicate, shared with the world so every policy sees the same one. */
export interface WorldStreams {
  world: Rng;
  child: Rng;
  /** Which module a proposal changes (program worlds): its own stream, so children stay common. */
  module: Rng;
}

/**
 * One replicate's world: its seeds, its baseline, and how a proposal makes children. `propose` runs
 * when a proposal starts (what it changes is decided then, as the runner does); the children exist
 * when the returned function is called, proposalLag rollouts later.
 */
export interface SimWorld {
  seeds: { bootstrap: number[]; online: number[]; val: number[] };
  baseline: ArmModel;
  propose(parent: SimArm, arms: readonly SimArm[]): (count: number) => ArmModel[];
  /** Proposals per module so far, in module order (program worlds); null otherwise. */
  proposalsByModule(): number[] | null;
  /** Modules of the program (program worlds; absent: one prompt). The runner's wait for new children depends on it. */
  moduleCount?: number;
  /**
   * Each reward as it arrives (worlds that learn from observed rollouts: demo pools, feedback), with
   * its split, so a world can keep val out the way the runner does.
   */
  observe?(a: { armId: string; model: ArmModel; seed: number; split: 'bootstrap' | 'online' | 'val'; reward: number }): void;
  /** Called before each rollout with its index (drifting worlds move their rewards with it). */
  tick?(t: number): void;
}

/** One arm (candidate instruction) of a simulated job, with the bookkeeping a runner would keep. */
export interface SimArm {
  id: string;
  isControl: boolean;
  status: 'active' | 'retired';
  createdOrder: number;
  parentId: string | null;
  /** The module this arm changed (program worlds); null for the baseline and single-prompt worlds. */
  module: string | null;
  model: ArmModel;
  trueMean: number;
  dispatches: number;
  inFlight: number;
  /** Online (bootstrap + online) rewards. */
  stats: RunningStats;
  /** The same rewards by seed (core/seedClusters.ts), and their seed-level statistics. */
  ledger: SeedLedger;
  seedStats: RunningStats | undefined;
  /** Rollouts whose reward arrived or expired, and those of them that never got one. */
  missing: { due: number; missing: number };
  unitInterval: boolean;
  val: RunningStats;
  valBySeed: Record<number, number>;
  /** The rollout index at which each val seed was dispatched (rewarded or not): pairs only contemporaneous runs. */
  valAtBySeed: Record<number, number>;
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
  /**
   * False for a policy that knows the true means (the oracle): it never measures new children, so
   * the runner's wait for them (childrenBeingMeasured) would stall its proposals; it proposes on
   * the reward count alone. Absent: the runner's trigger as is.
   */
  readonly measuresChildren?: false;
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
  /** mipro.stop_when_identified: end the replicate once the core's stop rule holds (bench --only stop). */
  stopRule?: { epsilon: number; delta: number };
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
  /** The champion's true mean (absolute quality, comparable across policies on the same worlds). */
  championTrueMean: number;
  /** Proposals per module (program worlds); null otherwise. */
  proposalsByModule: number[] | null;
  /** Rollouts dispatched when the stop rule ended the replicate; null: it ran the whole budget. */
  stoppedAt: number | null;
  /** Val seeds found among any candidate's online (training) rewards: must always be 0. */
  valSeedLeaks: number;
}
