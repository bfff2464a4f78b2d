import type { EventType } from './eventTypes.js';
import type { MissingCounts } from '../optimizer/core/missingRewards.js';
import type { SeedCell } from '../optimizer/core/seedClusters.js';
import type { JobConfig } from '../schemas/jobConfig.js';
import type { JobUsage, UsageTotals } from './usage.js';
import type { Demo } from '../optimizer/core/demos.js';
import type { PurgeOptions } from './jobPurge.js';

/**
 * The persistence contract. Two implementations (SQLite, PostgreSQL) share one kysely query layer
 * (kyselyStore.ts) and one contract test suite. Records are plain data in the service's vocabulary;
 * timestamps are ISO-8601 strings (UTC) so they sort as text on both databases.
 */

export const JOB_STATUSES = ['running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const FINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export type CandidateStatus = 'active' | 'retired';
/** `monitor`: after the job ended (production traffic on the served candidate); never in the optimizer's statistics. */
export type Split = 'bootstrap' | 'online' | 'val' | 'monitor';
/** The splits whose rewards feed the optimizer: the bandit, the proposal trigger and the proposer. */
export const TRAINING_SPLITS = ['bootstrap', 'online'] as const;

export interface Tenant { id: string; name: string; createdAt: string }

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  /** First characters of the key, shown in listings so people can tell keys apart. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface RunningStatsRecord { n: number; mean: number; m2: number }

export interface JobRecord {
  id: string;
  tenantId: string;
  systemId: string;
  status: JobStatus;
  config: JobConfig;
  /** The baseline instruction; null until the first proxied call supplies it (no initial_prompt). */
  baselineInstruction: string | null;
  correlationId: string | null;
  metadata: Record<string, unknown>;
  datasetSummary: string | null;
  eventSeq: number;
  proposalSeq: number;
  rolloutCount: number;
  rewardCount: number;
  /** Online (non-val) rewards since the last proposal started: the proposal trigger's counter. */
  rewardsSinceProposal: number;
  bestCandidateId: string | null;
  /** What a finished job serves (the champion when it succeeded, or what was promoted); null while it runs. */
  servedCandidateId: string | null;
  /** Tokens and calls of the policy (proxied calls) and of the proposer, as the providers reported them. */
  usage: JobUsage;
  /** The candidate the guard tripped for while it was served; null: not tripped (a promote resets it). */
  guardTrippedCandidateId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CandidateRecord {
  jobId: string;
  id: string;
  parentId: string | null;
  status: CandidateStatus;
  /** The changed module's instruction (the baseline: its first module's template). */
  instruction: string;
  /** The module this candidate changed; null for the baseline. */
  module: string | null;
  /** The modules this candidate sets; every other module keeps its baseline template. */
  instructions: Record<string, string>;
  /** Per module the ordered demos injected before the client's conversation (none: no demos). */
  demos: Record<string, Demo[]>;
  tip: string | null;
  proposalId: string | null;
  /** Creation order within the job (baseline = 0). */
  ordinal: number;
  dispatches: number;
  online: RunningStatsRecord;
  /** Whether every online reward so far was within [0, 1] (Beta posterior) or not (Gaussian). */
  rewardsInUnitInterval: boolean;
  val: RunningStatsRecord;
  /** Rewards after the job ended (split monitor): the guard's evidence, never the optimizer's. */
  monitor: RunningStatsRecord;
  /** Whether every monitored reward so far was within [0, 1]. */
  monitorInUnitInterval: boolean;
  createdAt: string;
  retiredAt: string | null;
}

export interface RolloutRecord {
  jobId: string;
  id: string;
  candidateId: string;
  seed: number | null;
  split: Split;
  correlationId: string | null;
  status: 'dispatched' | 'completed' | 'failed';
  inputMessages: unknown[] | null;
  outputText: string | null;
  latencyMs: number | null;
  usage: Record<string, unknown> | null;
  callCount: number;
  reward: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface ModuleRecord {
  name: string;
  template: string;
  ordinal: number;
  /** `declared` in the job body (or initial_prompt), `discovered` from traffic. */
  origin: 'declared' | 'discovered';
}

/** One LLM call of a rollout, as recorded. */
export interface RolloutCallRecord {
  rolloutId: string;
  seq: number;
  module: string | null;
  inputMessages: unknown[] | null;
  variables: Record<string, string> | null;
  outputText: string | null;
  /**
   * How many tool calls the answer made: `outputText` renders them as `name(arguments)` lines, which
   * read like text the model wrote unless the reader is told (0 for calls recorded before 0012).
   */
  toolCalls: number;
  failed: boolean;
  createdAt: string;
  /** The call was sent its own system text, which the record cannot rebuild (RolloutCall.ownSystemText). */
  ownSystemText: boolean;
}

export interface RewardRecord {
  jobId: string;
  rolloutId: string;
  candidateId: string;
  reward: number;
  split: Split;
  seed: number | null;
  metadata: Record<string, unknown> | null;
  /** reward_info.feedback: what went wrong or right, in words (shown to the proposer, never for val). */
  feedback: string | null;
  /** reward_info.feedback_by_module: the same, per module. */
  feedbackByModule: Record<string, string> | null;
  createdAt: string;
}

export interface EventRecord {
  jobId: string;
  seq: number;
  eventType: string;
  message: string;
  data: Record<string, unknown>;
  createdAt: string;
}

/** Which calls of each rollout to read: one module's, and at most `perRollout` of them, in call order. */
export interface CallSelection {
  module?: string;
  perRollout?: number;
  /** `perRollout` counts from each rollout's last call instead of its first (still returned in call order). */
  fromEnd?: boolean;
  /** Only calls the upstream answered (`failed` false); `perRollout` then counts those. */
  answered?: boolean;
}

export interface ProposalRecord {
  jobId: string;
  id: string;
  seq: number;
  parentId: string;
  /** The module the proposal changes. */
  module: string | null;
  tip: string;
  status: 'running' | 'succeeded' | 'failed';
  prompt: unknown[];
  response: string | null;
  error: string | null;
  candidateIds: string[];
  leaseUntil: string;
  createdAt: string;
  finishedAt: string | null;
}

/**
 * Per job, the candidates whose val rewards a job view reads (its champion and its control) and
 * how many of each at most: the jobs list reads them for many jobs at once.
 */
export type ValSides = readonly { jobId: string; candidateIds: readonly string[]; limit: number }[];

export interface ProposalSummary {
  failed: number;
  /** The newest proposal (null: none yet), without `prompt` and `response`. */
  latest: Omit<ProposalRecord, 'prompt' | 'response'> | null;
}

export interface NewEvent { eventType: EventType; message: string; data?: Record<string, unknown> }

export interface Page<T> { items: T[]; nextCursor: string | null }

export interface NewJob {
  id: string;
  tenantId: string;
  systemId: string;
  config: JobConfig;
  /** The declared modules (empty: the job discovers them from traffic). */
  modules: readonly { name: string; template: string }[];
  correlationId: string | null;
  metadata: Record<string, unknown>;
}

export interface NewCandidate {
  id: string;
  parentId: string | null;
  instruction: string;
  module: string | null;
  instructions: Record<string, string>;
  /** Absent: no demos. */
  demos?: Record<string, Demo[]>;
  tip: string | null;
  proposalId: string | null;
}

export type NewRollout = Pick<RolloutRecord, 'jobId' | 'id' | 'candidateId' | 'seed' | 'split' | 'correlationId' | 'inputMessages'>;

/**
 * Whose a rollout id is: what routes its later calls and resolves its reward. `correlationId` is
 * the rollout's tag where known (absent: this instance did not read it; a later call carrying one
 * asks the store, Store.tagRolloutCorrelation).
 */
export type RolloutAssignment = Pick<RolloutRecord, 'candidateId' | 'split' | 'seed'> & { correlationId?: string | null };

/** A stored rollout's assignment (a record carries more). */
export function assignmentOf(record: RolloutAssignment): RolloutAssignment {
  return { candidateId: record.candidateId, split: record.split, seed: record.seed };
}

/** A whole rollout record's assignment, its correlation id included (what a later call is checked against). */
export function assignmentWithCorrelationOf(record: Pick<RolloutRecord, 'candidateId' | 'split' | 'seed' | 'correlationId'>): RolloutAssignment {
  return { ...assignmentOf(record), correlationId: record.correlationId };
}

/** A running proposal that someone other than its runner ended (Store.closeExpiredProposals). */
export interface ClosedProposal { jobId: string; proposalId: string; seq: number; error: string }

export interface ProposalStart {
  /**
   * `now` is the caller's clock (the proposal's created_at); `leaseUntil - now` is the lease's length.
   * On PostgreSQL the stored lease starts at the database's clock instead (leaseClock.ts), so the
   * record's leaseUntil is on that clock, not the caller's.
   */
  jobId: string; id: string; parentId: string; module: string | null; tip: string; prompt: unknown[]; leaseUntil: string; now: string;
  basis?: { proposalSeq: number; candidateCount: number };
}

export type NewReward = Omit<RewardRecord, 'createdAt' | 'feedback' | 'feedbackByModule'> & Partial<Pick<RewardRecord, 'feedback' | 'feedbackByModule'>> & {
  /**
   * Whether the reward's rollout row was committed when the reward was resolved: true, the store
   * reaches it by its primary key only (PostgreSQL: postgres/pgBatchSql.ts RECORD_REWARDS, PLAN
   * SHAPE); false, a reward without a rollout record (`candidate_id` only), whose rollout is not
   * updated; left out, the store finds out itself (a read first on PostgreSQL).
   */
  rolloutStored?: boolean;
  /**
   * With `rolloutStored: false`: the client named this rollout id, no call has used it yet, and the
   * reward says which candidate ran it. The store creates the rollout record in the reward's
   * transaction (this candidate, the reward's stored split, no seed, no calls, counted as a
   * dispatched rollout), so the id's later calls are served this candidate and find its reward.
   * Nothing is written when the id turns out to be stored by then (a call committed it after the
   * caller's lookup): the store throws RolloutStoredMeanwhile and the caller resolves again. A
   * duplicate (a reward stored for the id without a rollout record, before this existed) creates
   * no record.
   */
  newRollout?: boolean;
  /** With `newRollout`: the reward's correlation id, kept by the rollout record as a call's would be. */
  rolloutCorrelationId?: string | null;
  /**
   * The job's `max_rollouts`. The store decides the split at the write, under the job row's lock:
   * a reward for a job that has ended, or one that arrives once `reward_count` has reached this
   * (rewards racing the one that crossed it), is stored as `monitor`, whatever the caller's cache
   * said. The outcome carries the split stored.
   */
  maxRewards?: number | null;
};

/** NewReward.newRollout found its rollout id stored: nothing was written; resolve the reward again. */
export class RolloutStoredMeanwhile extends Error {
  constructor(readonly rolloutId: string) {
    super(`rollout ${rolloutId} was stored while its reward was resolved`);
    this.name = 'RolloutStoredMeanwhile';
  }
}

/** One module call of a rewarded training rollout, for the demo pool (core/demos.ts). */
export interface DemoSourceCall {
  rolloutId: string;
  split: Split;
  reward: number | null;
  inputMessages: unknown[] | null;
  outputText: string | null;
  failed: boolean;
  /** How many tool calls the answer held. */
  toolCalls: number;
  /** The values its template was rendered with (a templated module's demo carries them). */
  variables: Record<string, string> | null;
}

/** The feedback stored with a rollout's reward. */
export interface RolloutFeedback { feedback: string | null; byModule: Record<string, string> | null }

/** One finished LLM call of a rollout. */
export interface RolloutCall {
  outputText: string | null;
  latencyMs: number;
  usage: Record<string, unknown> | null;
  failed: boolean;
  /** The call's conversation without the system text (the rollout keeps the first call's). */
  inputMessages: unknown[] | null;
  /** The module the call belonged to (null: it passed through) and the variables it was rendered with. */
  module: string | null;
  variables: Record<string, string> | null;
  /**
   * How many tool calls the answer held (absent: none). `outputText` renders them as text, so this
   * is what keeps such an answer out of the demo pool.
   */
  toolCalls?: number;
  /**
   * The call was sent its own system text, not one the record can rebuild from its module and
   * variables (a call naming its module with a text the template does not match; absent: false).
   */
  ownSystemText?: boolean;
}

/** How a proposal ends (Store.finishProposal). */
export interface ProposalFinish extends ProposalSettlement {
  jobId: string;
  id: string;
  response: string | null;
  /**
   * online_proposer_max_candidates, checked under the job row's lock: when the candidates would not
   * all fit (a warm start took the room after the runner counted it), none is added and the
   * proposal is failed instead, with its mipro.proposal.failed event in place of `events`.
   */
  maxCandidates?: number;
  /**
   * Called under the job row's lock with the job's candidates as they are then; its answer replaces
   * status, error, candidates and events. The runner's duplicate check runs here, so it sees a
   * candidate committed while the proposal ran (a warm start, on any instance), not only those it read before.
   */
  settle?: (current: readonly CandidateRecord[]) => ProposalSettlement;
}

/** What a proposal ends with: its status and error, the candidates it adds and its events. */
export interface ProposalSettlement {
  status: 'succeeded' | 'failed';
  error: string | null;
  candidates: NewCandidate[];
  events: NewEvent[];
}

export interface RewardOutcome {
  duplicate: boolean;
  /** The stored reward (the first one, for a duplicate). */
  reward: RewardRecord;
  job: JobRecord;
  /**
   * The candidate's moments right after this reward (null for a duplicate): the cache takes these
   * values instead of adding the reward again, so a refresh that already saw the commit cannot
   * make the cache count it twice.
   */
  moments: CandidateMoments | null;
}

export type CandidateMoments = Pick<CandidateRecord, 'online' | 'rewardsInUnitInterval' | 'val' | 'monitor' | 'monitorInUnitInterval'>;

export interface CandidateListOptions {
  status?: CandidateStatus;
  limit: number;
  cursor?: string | null;
  /** `created_at:asc` (default), `created_at:desc`, `avg_reward:desc`, `rollout_count:desc`. */
  sort?: string;
}

/** Filters are part of the query, so a page holds up to `limit` matching rows. */
export interface SeedEvalListOptions {
  candidateId?: string;
  split?: Split;
  seed?: number;
  /** `reward > 0`, the API's `success`; false selects the rest. */
  success?: boolean;
  limit: number;
  cursor?: string | null;
}

/** Store.proposalTriesByModule: counts per module name (modules with none are absent). */
export interface ProposalTries {
  failed: Record<string, number>;
  refused: Record<string, number>;
  running: Record<string, number>;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  ping(): Promise<void>;
  close(): Promise<void>;

  createTenant(name: string): Promise<Tenant>;
  getTenant(id: string): Promise<Tenant | null>;
  createApiKey(k: { tenantId: string; name: string; keyHash: string; prefix: string }): Promise<ApiKeyRecord>;
  /** A new tenant and its first key, both or neither (a failed key insert leaves no empty tenant). */
  createTenantWithKey(k: { name: string; keyHash: string; prefix: string }): Promise<ApiKeyRecord>;
  /**
   * A key seeded from configuration, stored once however many instances seed it at once (seedKey.ts):
   * `active` or `revoked` when it is stored already, else `created` (in the tenant of the newest key
   * of the same name, else a new one).
   */
  seedApiKey(k: { name: string; keyHash: string; prefix: string }): Promise<'active' | 'revoked' | 'created'>;
  /** Only an unrevoked key is returned. */
  findActiveApiKey(keyHash: string): Promise<ApiKeyRecord | null>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Revoke by id or prefix; false when nothing (unrevoked) matched. */
  revokeApiKey(idOrPrefix: string): Promise<boolean>;

  /** Job, its declared modules, its baseline candidate and a creation event, in one transaction. */
  createJob(job: NewJob): Promise<JobRecord>;
  getJob(id: string): Promise<JobRecord | null>;
  getJobBySystemId(systemId: string): Promise<JobRecord | null>;
  listJobs(tenantId: string, opts: { limit: number; cursor?: string | null; status?: JobStatus }): Promise<Page<JobRecord>>;
  /**
   * Compare-and-set: moves the job only if its status is one of `from` (and, with `servedWas`, it
   * serves that candidate), null when not, with its events, in order, in the same transaction.
   * `served` sets what the job serves from now on (a finished job's candidate). A move to a final
   * status also fails the job's running proposal, if any, with its `mipro.proposal.failed` event.
   */
  transitionJob(id: string, from: readonly JobStatus[], to: JobStatus, event: NewEvent | readonly NewEvent[], served?: string | null, servedWas?: string | null): Promise<JobRecord | null>;
  /**
   * DELETE: marks an ended job deleted in one small statement (no read finds it from then on); false
   * when it is unknown, already deleted, or not ended. Its rows go later, in purgeDeletedJob.
   */
  markJobDeleted(id: string): Promise<boolean>;
  /** Jobs marked deleted whose rows are still being removed (or were left by a stop mid-way). */
  deletedJobIds(): Promise<string[]>;
  /**
   * Removes a deleted job's rows in slices, awaiting `between` after each (false: stop there, to be
   * resumed by a later call), then the job row with whatever was written meanwhile. The number of
   * rows removed, or null when stopped (store/jobPurge.ts).
   */
  purgeDeletedJob(id: string, opts: PurgeOptions): Promise<number | null>;
  /** The job's modules in creation order. */
  listModules(jobId: string): Promise<ModuleRecord[]>;
  /**
   * Discovery: adds a module for `template` unless one with that template (or `name`) exists, or the
   * job already has `max` modules. Returns the job's modules after the call (with an event when added).
   */
  discoverModule(jobId: string, m: { name: string | null; template: string; max: number }): Promise<ModuleRecord[]>;
  /**
   * True the first time a job sees this unmatched text, with a `mipro.module.unmatched` event for the
   * job's first MAX_UNMATCHED_EVENTS texts and one more marked `last_reported` (programQueries.ts).
   * A function for `event` is called only when the event is written.
   */
  recordUnmatched(jobId: string, textHash: string, event: NewEvent | (() => NewEvent)): Promise<boolean>;
  /** How many distinct system texts matched no module of the job (each passed through unoptimized). */
  unmatchedPromptCount(jobId: string): Promise<number>;
  setDatasetSummary(jobId: string, summary: string): Promise<void>;
  /** Adds one proposer call's usage to the job's counters; the job as it is after the addition. */
  addProposerUsage(jobId: string, usage: UsageTotals): Promise<JobRecord>;
  setBestCandidate(jobId: string, candidateId: string, event: NewEvent): Promise<void>;
  /**
   * The guard trips for `candidateId` while the finished job serves it: once (null when it already
   * tripped, or the job no longer serves that candidate). `serve` (the baseline, for "revert")
   * becomes what the job serves. The event is written in the same transaction.
   */
  tripGuard(jobId: string, candidateId: string, serve: string | null, event: NewEvent): Promise<JobRecord | null>;

  listCandidates(jobId: string): Promise<CandidateRecord[]>;
  pageCandidates(jobId: string, opts: CandidateListOptions): Promise<Page<CandidateRecord>>;
  getCandidate(jobId: string, candidateId: string): Promise<CandidateRecord | null>;
  /**
   * The tenant's candidates with this id, at most `limit` (proposed ids are globally unique; every
   * job has a `baseline`). Used by GET /api/candidates/{id}.
   */
  findCandidatesById(candidateId: string, tenantId: string, limit: number): Promise<CandidateRecord[]>;
  retireCandidate(jobId: string, candidateId: string, event: NewEvent): Promise<boolean>;
  /**
   * Per candidate: bootstrap and online rollouts dispatched before `dispatchedBefore` (ISO time), and
   * how many of them never got a reward.
   */
  missingRewardCounts(jobId: string, dispatchedBefore: string): Promise<Map<string, MissingCounts>>;
  /** Each candidate's training rewards summed per seed (seed-level statistics). */
  onlineSeedCells(jobId: string): Promise<Map<string, SeedCell[]>>;
  /** Each candidate's monitored rewards (split "monitor", after the end) summed per seed: the guard's seed-level statistics. */
  monitorSeedCells(jobId: string): Promise<Map<string, SeedCell[]>>;
  /** Records the candidate's missing-rewards flag with its event, the first time only (false after). */
  flagMissingRewards(jobId: string, candidateId: string, event: NewEvent): Promise<boolean>;
  /**
   * Adds a candidate by hand (warm start). Null when the job has ended, or already holds `max` candidates, or (with
   * `expectedCount`) when it no longer holds that many: the caller checked the new one against a set
   * that has changed since.
   */
  addCandidate(jobId: string, c: NewCandidate, max: number, expectedCount?: number): Promise<CandidateRecord | null>;

  /** Inserts the rollout and counts a dispatch for its candidate; false if the id already exists. */
  insertRollout(r: NewRollout): Promise<boolean>;
  /**
   * Insert-first for a client's rollout id: inserts the rollout (as insertRollout) and resolves null
   * once committed, or, when the id already exists, writes nothing and resolves the stored
   * rollout's assignment. Where a read costs a statement (PostgreSQL), this is one statement where
   * read-then-insert is two; see `rolloutIdsByClaim`.
   */
  claimRollout(r: NewRollout): Promise<RolloutAssignment | null>;
  /**
   * How the engine resolves a client's rollout id it does not remember: true, claim it (insert
   * first, read only on conflict: PostgreSQL, where every statement is a round trip and backend
   * CPU); false, read first and insert in parallel with the upstream call (SQLite: a read is a few
   * microseconds in-process, and the insert need not be awaited before the upstream call).
   */
  readonly rolloutIdsByClaim: boolean;
  /**
   * The seed scheduler's insert: rollout, counters and its `mipro.rollout.started` event in one
   * transaction. False (nothing written) when the id exists, the bootstrap seed was already issued,
   * or the candidate already has this val seed: another instance won that slot, choose again; also
   * when the job has ended and the rollout is not a monitoring one (the end came after the choice).
   */
  insertScheduledRollout(r: NewRollout, event: NewEvent): Promise<boolean>;
  /** Bootstrap seeds issued so far (each at most once: a unique index holds it). */
  bootstrapSeedsIssued(jobId: string): Promise<number[]>;
  getRollout(jobId: string, rolloutId: string): Promise<RolloutRecord | null>;
  /**
   * getRollout's answer without a promise, where the read is synchronous (SQLite, in-process);
   * absent elsewhere. The proxy reads every new rollout id once, and a promise chain around a
   * read that is already done cost more than the read.
   */
  readonly getRolloutNow?: ((jobId: string, rolloutId: string) => RolloutRecord | null) | undefined;
  /**
   * Tags a rollout that has no correlation id yet with `correlationId` (a later call's, when its first
   * call or the scheduler gave none). Resolves with the rollout's correlation id afterwards (another
   * one when it already had one), undefined when the rollout is not stored.
   */
  tagRolloutCorrelation(jobId: string, rolloutId: string, correlationId: string): Promise<string | null | undefined>;
  latestRolloutForCorrelation(jobId: string, correlationId: string): Promise<RolloutRecord | null>;
  /** Records one finished LLM call of the rollout (a rollout may make several). */
  completeRolloutCall(jobId: string, rolloutId: string, call: RolloutCall): Promise<void>;
  /** The recorded calls of these rollouts, in call order. */
  rolloutCalls(jobId: string, rolloutIds: readonly string[], only?: CallSelection): Promise<RolloutCallRecord[]>;
  /** The module of each recorded call of these rollouts, in call order. */
  callModules(jobId: string, rolloutIds: readonly string[], only?: { answered?: boolean }): Promise<Map<string, (string | null)[]>>;
  /**
   * Every module that has a call, in the order rollouts call them: by the mean position of each
   * module's recent calls within their rollouts (a module called rarely included).
   */
  moduleCallOrder(jobId: string): Promise<string[]>;
  /**
   * Retention: clears the call text (input messages, output) of rollouts last updated before
   * `before` (ISO time); the rollout rows, their rewards and all statistics stay. Returns how many.
   */
  forgetCallText(before: string): Promise<number>;
  /**
   * Recent rewarded rollouts of a candidate (never val) whose call text is kept (RETENTION_DAYS), for the proposer's reflection.
   * `module`: only rollouts with a call of that module the upstream answered. Never a rollout with a
   * call that got no answer at all (failed without text and never retried into one): its reward was the outage's.
   */
  rewardedRollouts(jobId: string, candidateId: string, opts: { order: 'worst' | 'best'; limit: number; module?: string }): Promise<RolloutRecord[]>;
  /**
   * Calls of `module` in rewarded bootstrap/online rollouts (never val or monitor) with reward >=
   * `minReward`, best reward first then newest, at most `limit`: the demo pool's source.
   */
  demoSourceCalls(jobId: string, module: string, opts: { minReward: number; limit: number }): Promise<DemoSourceCall[]>;
  /** Whether any recorded call of the module in the job answered with tool calls (any split, any reward). */
  moduleMadeToolCalls(jobId: string, module: string): Promise<boolean>;
  /**
   * Per module, how many of the most recent training rewards below `below` (at most `limit`) named it
   * in feedback_by_module; val and monitor rewards are left out.
   */
  moduleBlame(jobId: string, opts: { below: number; limit: number }): Promise<Record<string, number>>;
  /** The feedback stored with these rollouts' rewards; val and monitor rewards are left out. */
  rolloutFeedback(jobId: string, rolloutIds: readonly string[]): Promise<Map<string, RolloutFeedback>>;
  /** Inputs of bootstrap/online rollouts, for the dataset summary. */
  sampleInputs(jobId: string, limit: number): Promise<unknown[][]>;
  /** Counts issued rollouts per split (the seed scheduler's state). */
  rolloutSplitCounts(jobId: string): Promise<Record<Split, number>>;

  /**
   * Reward, candidate statistics, job counters and event in one transaction. A second reward for the
   * same rollout id changes nothing and reports `duplicate`.
   */
  recordReward(r: NewReward, event: NewEvent): Promise<RewardOutcome>;
  /** Every reward of a job in arrival order (dashboard charts, SDK). */
  listRewards(jobId: string, f: { limit: number; cursor?: string | null }): Promise<Page<RewardRecord>>;
  /** Val seeds issued so far, by candidate: the seed scheduler's confirmation state. */
  valSeedsIssued(jobId: string): Promise<Map<string, number[]>>;
  /**
   * When these candidates' val seeds were dispatched (ms since the epoch), by candidate and seed: the
   * lift over the control pairs only runs made at the same time (core/valPairs.ts).
   */
  valRunTimes(jobId: string, candidateIds: readonly string[]): Promise<Map<string, Record<number, number>>>;
  listSeedEvals(jobId: string, f: SeedEvalListOptions): Promise<Page<RewardRecord>>;

  /**
   * Starts a proposal if none is running for the job (an expired lease counts as not running):
   * exactly one instance wins. Resets the job's rewards-since-proposal counter. With `basis` (the
   * job's proposal_seq and candidate count the decision to propose was made on), also null when
   * either moved since, or the job no longer runs: another instance proposed, added candidates,
   * paused or ended the job meanwhile, so the decision rested on state that is gone.
   */
  startProposal(p: ProposalStart): Promise<ProposalRecord | null>;
  /**
   * The prompt of a running proposal, built under its lease (the grounding is read only once the
   * lease is held, so an instance that loses the race spends nothing): stored before the proposer
   * call, so a proposal that runs, or whose instance dies, shows what it asked.
   */
  setProposalPrompt(jobId: string, id: string, prompt: unknown[]): Promise<void>;
  /**
   * Ends a running proposal, adding its candidates and events in one transaction. A proposal that no
   * longer runs (its lease expired and another instance released it) is left as it is and adds
   * nothing: the answer is []. That instance may already be proposing on the same room.
   */
  finishProposal(p: ProposalFinish): Promise<CandidateRecord[]>;
  /**
   * Fails every running proposal (of one job, or of all) whose lease ran out: the instance running it
   * died or lost the database, and would otherwise leave it `running` until the job's next proposal,
   * or forever once the job ended or stopped proposing. Each gets the `mipro.proposal.failed` event
   * its runner would have written, exactly once whoever else closes it at the same moment. A live
   * runner's lease outlasts its work (ProposalRunner), so only an abandoned proposal is closed.
   */
  closeExpiredProposals(jobId?: string): Promise<ClosedProposal[]>;
  /**
   * Now on the clock proposal leases are kept by (ms): the database's on PostgreSQL, shared by every
   * instance whatever their own clocks say; the store's clock on SQLite. Compare a ProposalRecord's
   * leaseUntil with this, never with the instance's clock.
   */
  leaseClockNow(): Promise<number>;
  listProposals(jobId: string, limit: number): Promise<ProposalRecord[]>;
  /** The job's proposals newest first, a page at a time (the API's list: a long job has more than one page). */
  pageProposals(jobId: string, f: { limit: number; cursor?: string | null }): Promise<Page<ProposalRecord>>;
  /**
   * Per module they were to change, the job's proposals that made no child (yet): how many failed
   * (`failed`), how many of those have an error starting with `refusedPrefix` (`refused`: the
   * proposer's answer refused, not a timeout or the job's end), and how many still run (`running`:
   * on another instance, or one that died with its lease not yet run out). One read for all three.
   */
  proposalTriesByModule(jobId: string, refusedPrefix: string): Promise<ProposalTries>;
  /**
   * What job views say of the job's proposals: how many failed, and the newest one without its
   * prompt and answer (which can be long), so a view shows why proposals produce nothing.
   */
  proposalSummary(jobId: string): Promise<ProposalSummary>;

  appendEvent(jobId: string, event: NewEvent): Promise<number>;
  /** Events after `sinceSeq`, oldest first; only those of `eventType` when given. */
  listEvents(jobId: string, sinceSeq: number, limit: number, eventType?: EventType): Promise<EventRecord[]>;
  /** The job's most recent event of this type (null: none), e.g. when the guard last tripped. */
  latestEvent(jobId: string, eventType: EventType): Promise<EventRecord | null>;

  /**
   * The job views' reads for several jobs at once (the jobs list), each one statement (two for the
   * proposal summaries) however many jobs, answered by job id: per job the same as the per-job read
   * it is named after; a job with nothing to report has no entry. Pass a bounded batch (ids become
   * bound parameters).
   */
  candidatesOfJobs(jobIds: readonly string[]): Promise<Map<string, CandidateRecord[]>>;
  modulesOfJobs(jobIds: readonly string[]): Promise<Map<string, ModuleRecord[]>>;
  missingRewardCountsOfJobs(jobIds: readonly string[], dispatchedBefore: string): Promise<Map<string, Map<string, MissingCounts>>>;
  onlineSeedCellsOfJobs(jobIds: readonly string[]): Promise<Map<string, Map<string, SeedCell[]>>>;
  monitorSeedCellsOfJobs(jobIds: readonly string[]): Promise<Map<string, Map<string, SeedCell[]>>>;
  unmatchedPromptCountsOfJobs(jobIds: readonly string[]): Promise<Map<string, number>>;
  proposalSummariesOfJobs(jobIds: readonly string[]): Promise<Map<string, ProposalSummary>>;
  latestEventsOfJobs(jobIds: readonly string[], eventType: EventType): Promise<Map<string, EventRecord>>;
  /** listSeedEvals(split val, candidate, limit) for each listed candidate of each job, in one read. */
  valRewardsOfJobs(sides: ValSides): Promise<Map<string, RewardRecord[]>>;
  valRunTimesOfJobs(sides: ValSides): Promise<Map<string, Map<string, Record<number, number>>>>;
}
