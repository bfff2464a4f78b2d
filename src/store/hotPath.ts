import type { Database } from './schema.js';
import { assignmentOf, FINAL_STATUSES, type NewEvent, type NewReward, type NewRollout, type RewardOutcome, type RolloutAssignment, type RolloutCall, type RolloutRecord } from './types.js';

/**
 * The statements that run on every proxied call and every reward. They are split from the rest of the
 * store so each database can run them its cheapest way: PostgreSQL as one prepared multi-row
 * statement per batch (postgres/pgHotPath.ts), SQLite as raw prepared statements in synchronous group
 * commits (sqlite/sqliteHotPath.ts). All keep the same contract: a resolved promise means committed.
 */
export interface HotPath {
  /** Store.rolloutIdsByClaim: whether claimRollout is cheaper than a read before the insert. */
  readonly rolloutIdsByClaim: boolean;
  /** False when the rollout id already existed (nothing written). */
  insertRollout(r: NewRollout, now: string): Promise<boolean>;
  /** Null when inserted; else the stored rollout's assignment (Store.claimRollout). */
  claimRollout(r: NewRollout, now: string): Promise<RolloutAssignment | null>;
  getRollout(jobId: string, rolloutId: string): Promise<RolloutRecord | null>;
  /** Store.getRolloutNow: only where the read is synchronous. */
  getRolloutNow?(jobId: string, rolloutId: string): RolloutRecord | null;
  completeRolloutCall(jobId: string, rolloutId: string, call: RolloutCall, now: string): Promise<void>;
  recordReward(r: NewReward, event: NewEvent, now: string): Promise<RewardOutcome>;
  /** How long (ms) the oldest statement in flight has waited for the database; 0 when none is. */
  stalledMs?(): number;
}

/**
 * Calls recorded per rollout: later calls of the same rollout still go upstream and are counted
 * (`call_count`), but their text is not stored. A rollout id is known to whoever holds the proxy
 * URL, and every reader of a rollout's calls (the rollout view, the proposer's grounding) loads them
 * together: unbounded, one rollout could hold gigabytes.
 */
export const MAX_RECORDED_CALLS_PER_ROLLOUT = 256;

/** A claim as an insert, then a read when the id existed: for stores where a read is cheap. */
export async function claimByInsertThenRead(hot: Pick<HotPath, 'insertRollout' | 'getRollout'>, r: NewRollout, now: string): Promise<RolloutAssignment | null> {
  if (await hot.insertRollout(r, now)) return null;
  return storedAssignment(hot, r);
}

/** The assignment of a rollout whose insert found its id taken (the id is committed by then). */
export async function storedAssignment(hot: Pick<HotPath, 'getRollout'>, r: NewRollout): Promise<RolloutAssignment> {
  const stored = await hot.getRollout(r.jobId, r.id);
  // Rollouts are never deleted (retention clears their text only): not found is a bug.
  if (!stored) throw new Error(`rollout ${r.id} neither inserted nor found`);
  return assignmentOf(stored);
}

export function callRow(jobId: string, rolloutId: string, seq: number, call: RolloutCall, input: string | null, now: string): Database['rollout_calls'] {
  return {
    job_id: jobId, rollout_id: rolloutId, seq, module: call.module, input_messages: input,
    variables: call.variables === null ? null : JSON.stringify(call.variables), output_text: call.outputText,
    latency_ms: call.latencyMs, usage: call.usage === null ? null : JSON.stringify(call.usage), failed: call.failed ? 1 : 0, created_at: now,
    tool_calls: call.toolCalls ?? 0, own_system_text: call.ownSystemText === true ? 1 : 0,
  };
}

/** Whether a reward is stored as `monitor` (NewReward.maxRewards): the job ended, or max_rollouts was reached. */
export function rewardAfterEnd(r: Pick<NewReward, 'split' | 'maxRewards'>, status: string, rewardCount: number): boolean {
  if ((FINAL_STATUSES as readonly string[]).includes(status)) return true;
  return r.split !== 'monitor' && r.maxRewards !== undefined && r.maxRewards !== null && rewardCount >= r.maxRewards;
}

/** The reward event's data with the split the store decided (it may have made an online reward monitoring). */
export function withStoredSplit(data: Record<string, unknown> | undefined, split: string): Record<string, unknown> {
  return data && 'split' in data ? { ...data, split } : (data ?? {});
}

export function rewardRow(r: NewReward, now: string): Database['rewards'] {
  return {
    job_id: r.jobId, rollout_id: r.rolloutId, candidate_id: r.candidateId, reward: r.reward, split: r.split,
    seed: r.seed, metadata: r.metadata === null ? null : JSON.stringify(r.metadata), created_at: now,
    feedback: r.feedback ?? null, feedback_by_module: r.feedbackByModule ? JSON.stringify(r.feedbackByModule) : null,
  };
}
