import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';
import { GroupCommitter } from './groupCommit.js';
import { insertEvent, mustJob, welfordUpdate } from './statements.js';
import { toJob, toReward, toRollout } from './rows.js';
import { isZeroUsage, usageOfCall } from './usage.js';
import type { NewEvent, NewReward, NewRollout, RewardOutcome, RolloutAssignment, RolloutCall, RolloutRecord } from './types.js';

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
  completeRolloutCall(jobId: string, rolloutId: string, call: RolloutCall, now: string): Promise<void>;
  recordReward(r: NewReward, event: NewEvent, now: string): Promise<RewardOutcome>;
}

/**
 * The portable reference implementation: kysely statements, group-committed per job. KyselyStore's
 * default for a dialect that brings no hot path of its own (both shipped dialects do).
 */
export class KyselyHotPath implements HotPath {
  /** A claim here is an insert and maybe a read, both statements: read first, as before. */
  readonly rolloutIdsByClaim = false;
  private readonly group: GroupCommitter<Database>;

  constructor(private readonly db: Kysely<Database>, lockJobs: (trx: Transaction<Database>, jobIds: string[]) => Promise<void>) {
    this.group = new GroupCommitter(db, lockJobs);
  }

  insertRollout(r: NewRollout, now: string): Promise<boolean> {
    return this.group.run(r.jobId, async (trx) => {
      const res = await trx.insertInto('rollouts').values({
        job_id: r.jobId, id: r.id, candidate_id: r.candidateId, seed: r.seed, split: r.split,
        correlation_id: r.correlationId, status: 'dispatched',
        input_messages: r.inputMessages === null ? null : JSON.stringify(r.inputMessages),
        output_text: null, latency_ms: null, usage: null, call_count: 0, reward: null, created_at: now, updated_at: now,
      }).onConflict((oc) => oc.columns(['job_id', 'id']).doNothing()).executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await trx.updateTable('candidates').set((eb) => ({ dispatches: eb('dispatches', '+', 1) }))
        .where('job_id', '=', r.jobId).where('id', '=', r.candidateId).execute();
      await trx.updateTable('jobs').set((eb) => ({ rollout_count: eb('rollout_count', '+', 1), updated_at: now }))
        .where('id', '=', r.jobId).execute();
      return true;
    });
  }

  claimRollout(r: NewRollout, now: string): Promise<RolloutAssignment | null> {
    return claimByInsertThenRead(this, r, now);
  }

  async getRollout(jobId: string, rolloutId: string): Promise<RolloutRecord | null> {
    const r = await this.db.selectFrom('rollouts').selectAll().where('job_id', '=', jobId).where('id', '=', rolloutId).executeTakeFirst();
    return r ? toRollout(r) : null;
  }

  async completeRolloutCall(jobId: string, rolloutId: string, call: RolloutCall, now: string): Promise<void> {
    const input = call.inputMessages === null ? null : JSON.stringify(call.inputMessages);
    await this.group.run(jobId, async (trx) => {
      // The first call's input is kept (set at insert); later calls of a multi-turn rollout update output only.
      // The row's call counter numbers the call record: one statement, so concurrent calls get distinct numbers.
      const row = await trx.updateTable('rollouts').set((eb) => ({
        status: call.failed ? 'failed' : 'completed',
        output_text: call.outputText,
        latency_ms: call.latencyMs,
        usage: call.usage === null ? null : JSON.stringify(call.usage),
        call_count: eb('call_count', '+', 1),
        input_messages: eb.fn.coalesce('input_messages', eb.val(input)),
        updated_at: now,
      })).where('job_id', '=', jobId).where('id', '=', rolloutId).returning('call_count').executeTakeFirst();
      if (!row) return;
      await trx.insertInto('rollout_calls').values(callRow(jobId, rolloutId, Number(row.call_count), call, input, now)).execute();
      // The job's policy usage rides in the same group-committed transaction as the call record.
      const u = usageOfCall(call.usage, call.failed);
      if (isZeroUsage(u)) return;
      await trx.updateTable('jobs').set((eb) => ({
        policy_calls: eb('policy_calls', '+', u.calls),
        policy_prompt_tokens: eb('policy_prompt_tokens', '+', u.promptTokens),
        policy_completion_tokens: eb('policy_completion_tokens', '+', u.completionTokens),
        policy_total_tokens: eb('policy_total_tokens', '+', u.totalTokens),
      })).where('id', '=', jobId).execute();
    });
  }

  recordReward(r: NewReward, event: NewEvent, now: string): Promise<RewardOutcome> {
    return this.group.run(r.jobId, async (trx) => {
      const row = rewardRow(r, now);
      const ins = await trx.insertInto('rewards').values(row)
        .onConflict((oc) => oc.columns(['job_id', 'rollout_id']).doNothing()).executeTakeFirst();
      if (Number(ins.numInsertedOrUpdatedRows ?? 0) === 0) {
        const stored = await trx.selectFrom('rewards').selectAll().where('job_id', '=', r.jobId)
          .where('rollout_id', '=', r.rolloutId).executeTakeFirstOrThrow();
        return { duplicate: true, reward: toReward(stored), job: await mustJob(trx, r.jobId), moments: null };
      }
      // Monitor rewards go to their own moments (the guard's), never to the optimizer's.
      const moments = await welfordUpdate(trx, r);
      await trx.updateTable('rollouts').set({ reward: r.reward, updated_at: now })
        .where('job_id', '=', r.jobId).where('id', '=', r.rolloutId).execute();
      // Counters and the event sequence in one statement; RETURNING gives the job record too.
      const job = await trx.updateTable('jobs').set((eb) => ({
        reward_count: eb('reward_count', '+', r.split === 'monitor' ? 0 : 1),
        rewards_since_proposal: eb('rewards_since_proposal', '+', r.split === 'val' || r.split === 'monitor' ? 0 : 1),
        event_seq: eb('event_seq', '+', 1),
        updated_at: now,
      })).where('id', '=', r.jobId).returningAll().executeTakeFirstOrThrow();
      await insertEvent(trx, r.jobId, Number(job.event_seq), event, now);
      return { duplicate: false, reward: toReward(row), job: toJob(job), moments };
    });
  }
}

/** A claim as an insert, then a read when the id existed: for stores where a read is cheap. */
export async function claimByInsertThenRead(hot: Pick<HotPath, 'insertRollout' | 'getRollout'>, r: NewRollout, now: string): Promise<RolloutAssignment | null> {
  if (await hot.insertRollout(r, now)) return null;
  const stored = await hot.getRollout(r.jobId, r.id);
  // Rollouts are never deleted (retention clears their text only): not found is a bug.
  if (!stored) throw new Error(`rollout ${r.id} neither inserted nor found`);
  return { candidateId: stored.candidateId, split: stored.split, seed: stored.seed };
}

export function callRow(jobId: string, rolloutId: string, seq: number, call: RolloutCall, input: string | null, now: string): Database['rollout_calls'] {
  return {
    job_id: jobId, rollout_id: rolloutId, seq, module: call.module, input_messages: input,
    variables: call.variables === null ? null : JSON.stringify(call.variables), output_text: call.outputText,
    latency_ms: call.latencyMs, usage: call.usage === null ? null : JSON.stringify(call.usage), failed: call.failed ? 1 : 0, created_at: now,
  };
}

export function rewardRow(r: NewReward, now: string): Database['rewards'] {
  return {
    job_id: r.jobId, rollout_id: r.rolloutId, candidate_id: r.candidateId, reward: r.reward, split: r.split,
    seed: r.seed, metadata: r.metadata === null ? null : JSON.stringify(r.metadata), created_at: now,
    feedback: r.feedback ?? null, feedback_by_module: r.feedbackByModule ? JSON.stringify(r.feedbackByModule) : null,
  };
}
