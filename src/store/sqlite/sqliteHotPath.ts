import type BetterSqlite3 from 'better-sqlite3';
import { JobGoneError } from '../../shared/errors.js';
import type { HotPath } from '../hotPath.js';
import { MAX_RECORDED_CALLS_PER_ROLLOUT, callRow, claimByInsertThenRead, rewardAfterEnd, rewardRow, withStoredSplit } from '../hotPath.js';
import { MOMENT_COLUMNS, toJob, toMoments, toReward, toRollout } from '../rows.js';
import type { CandidatesTable, JobsTable, RewardsTable, RolloutsTable } from '../schema.js';
import { RolloutStoredMeanwhile, type NewEvent, type NewReward, type NewRollout, type RewardOutcome, type RolloutAssignment, type RolloutCall, type RolloutRecord } from '../types.js';
import { SyncGroupCommitter } from './syncGroupCommit.js';
import { WriteLockWait } from './writeLockWait.js';
import { type UsageTotals, addUsage, isZeroUsage, usageOfCall } from '../usage.js';

/**
 * SQLite's hot path as hand-written prepared statements. Through kysely every execution built and
 * compiled a query tree first, which was a third of the proxy's CPU at 32 connections (profile in
 * docs/benchmarks.md); prepared once here, a proxied call's three statements cost a few microseconds.
 * The store contract suite (test/store) runs it and PostgreSQL's (postgres/pgHotPath.ts) alike.
 */
export class SqliteHotPath implements HotPath {
  /**
   * Read first: a read is a few microseconds in-process, and the insert then runs in parallel with
   * the upstream call instead of before it (a claim waits for its group commit).
   */
  readonly rolloutIdsByClaim = false;
  private readonly group: SyncGroupCommitter;
  private readonly sql;
  /**
   * Counter increments of the current batch's rollout inserts, applied once per row just before the
   * batch commits (same transaction): a batch of n inserts runs n + 2 statements, not 3n.
   */
  private readonly pending = {
    rollouts: new Map<string, number>(), dispatches: new Map<string, Map<string, number>>(), now: '',
    /** Policy usage of the batch's call records, per job: one counter update per job per batch. */
    usage: new Map<string, UsageTotals>(),
  };

  constructor(private readonly db: BetterSqlite3.Database, private readonly lock = new WriteLockWait(), beforeBatch?: () => void) {
    this.group = new SyncGroupCommitter(db, {
      beforeCommit: () => this.applyCounts(), lock,
      // A batch SQLite rolled back as a whole (a unit met SQLITE_FULL or IOERR) never reached
      // applyCounts: its units' counts must not be applied with the next batch.
      beforeBatch: () => {
        this.clearCounts();
        beforeBatch?.();
      },
    });
    const p = (text: string) => db.prepare(text);
    this.sql = {
      insertRollout: p(`insert into rollouts (job_id, id, candidate_id, seed, split, correlation_id, status, input_messages,
          output_text, latency_ms, usage, call_count, reward, created_at, updated_at)
        values (?, ?, ?, ?, ?, ?, 'dispatched', ?, null, null, null, 0, null, ?, ?)
        on conflict (job_id, id) do nothing`),
      countDispatch: p('update candidates set dispatches = dispatches + ? where job_id = ? and id = ?'),
      countRollout: p('update jobs set rollout_count = rollout_count + ?, updated_at = ? where id = ?'),
      countUsage: p(`update jobs set policy_calls = policy_calls + ?, policy_prompt_tokens = policy_prompt_tokens + ?,
          policy_completion_tokens = policy_completion_tokens + ?, policy_total_tokens = policy_total_tokens + ? where id = ?`),
      getRollout: p('select * from rollouts where job_id = ? and id = ?'),
      // The first call's input is kept (set at insert); later calls of a multi-turn rollout update output only.
      completeCall: p(`update rollouts set status = ?, output_text = ?, latency_ms = ?, usage = ?, call_count = call_count + 1,
          input_messages = coalesce(input_messages, ?), updated_at = ? where job_id = ? and id = ? returning call_count`),
      insertCall: p(`insert into rollout_calls (job_id, rollout_id, seq, module, input_messages, variables, output_text, latency_ms,
          usage, failed, created_at, tool_calls, own_system_text) values (@job_id, @rollout_id, @seq, @module, @input_messages, @variables, @output_text,
          @latency_ms, @usage, @failed, @created_at, @tool_calls, @own_system_text)`),
      insertReward: p(`insert into rewards (job_id, rollout_id, candidate_id, reward, split, seed, metadata, created_at, feedback, feedback_by_module)
        values (@job_id, @rollout_id, @candidate_id, @reward, @split, @seed, @metadata, @created_at, @feedback, @feedback_by_module)
        on conflict (job_id, rollout_id) do nothing`),
      getReward: p('select * from rewards where job_id = ? and rollout_id = ?'),
      getJob: p('select * from jobs where id = ?'),
      rewardGate: p('select status, reward_count, deleted_at from jobs where id = ?'),
      // Welford's update as one statement (the right-hand sides see the row's old values). The cast keeps
      // an integer reward from turning the division into integer division.
      welfordOnline: p(`update candidates set online_n = online_n + 1,
          online_mean = online_mean + (cast(@x as real) - online_mean) / (online_n + 1),
          online_m2 = online_m2 + (cast(@x as real) - online_mean) * (cast(@x as real) - (online_mean + (cast(@x as real) - online_mean) / (online_n + 1))),
          unit_rewards = unit_rewards * @unit
        where job_id = @job_id and id = @id
        returning online_n, online_mean, online_m2, unit_rewards, val_n, val_mean, val_m2, monitor_n, monitor_mean, monitor_m2, monitor_unit`),
      welfordVal: p(`update candidates set val_n = val_n + 1,
          val_mean = val_mean + (cast(@x as real) - val_mean) / (val_n + 1),
          val_m2 = val_m2 + (cast(@x as real) - val_mean) * (cast(@x as real) - (val_mean + (cast(@x as real) - val_mean) / (val_n + 1)))
        where job_id = @job_id and id = @id
        returning online_n, online_mean, online_m2, unit_rewards, val_n, val_mean, val_m2, monitor_n, monitor_mean, monitor_m2, monitor_unit`),
      welfordMonitor: p(`update candidates set monitor_n = monitor_n + 1,
          monitor_mean = monitor_mean + (cast(@x as real) - monitor_mean) / (monitor_n + 1),
          monitor_m2 = monitor_m2 + (cast(@x as real) - monitor_mean) * (cast(@x as real) - (monitor_mean + (cast(@x as real) - monitor_mean) / (monitor_n + 1))),
          monitor_unit = monitor_unit * @unit
        where job_id = @job_id and id = @id
        returning online_n, online_mean, online_m2, unit_rewards, val_n, val_mean, val_m2, monitor_n, monitor_mean, monitor_m2, monitor_unit`),
      rolloutReward: p('update rollouts set reward = ?, updated_at = ? where job_id = ? and id = ?'),
      countReward: p(`update jobs set reward_count = reward_count + ?, rewards_since_proposal = rewards_since_proposal + ?,
          event_seq = event_seq + 1, updated_at = ? where id = ? returning *`),
      insertEvent: p('insert into events (job_id, seq, event_type, message, data, created_at) values (?, ?, ?, ?, ?, ?)'),
    };
  }

  /** How long another connection has held the write lock (/readyz), asked of the database now. */
  stalledMs(): number {
    this.lock.probe(this.db);
    return this.lock.heldMs();
  }

  /** Commits what is still queued; called before the connection closes. */
  drain(): void {
    this.group.drain();
  }

  insertRollout(r: NewRollout, now: string): Promise<boolean> {
    const s = this.sql;
    // One write statement, then in-memory counts only: no savepoint needed (runStatement).
    return this.group.runStatement(() => {
      const input = r.inputMessages === null ? null : JSON.stringify(r.inputMessages);
      if (s.insertRollout.run(r.jobId, r.id, r.candidateId, r.seed, r.split, r.correlationId, input, now, now).changes === 0) return false;
      // Last: nothing after this can fail, so a unit that rolled back never left a count behind.
      const p = this.pending;
      p.rollouts.set(r.jobId, (p.rollouts.get(r.jobId) ?? 0) + 1);
      const perCandidate = p.dispatches.get(r.jobId) ?? new Map<string, number>();
      perCandidate.set(r.candidateId, (perCandidate.get(r.candidateId) ?? 0) + 1);
      p.dispatches.set(r.jobId, perCandidate);
      if (now > p.now) p.now = now;
      return true;
    });
  }

  claimRollout(r: NewRollout, now: string): Promise<RolloutAssignment | null> {
    return claimByInsertThenRead(this, r, now);
  }

  private applyCounts(): void {
    const { rollouts, dispatches, usage, now } = this.pending;
    try {
      for (const [jobId, perCandidate] of dispatches) {
        for (const [candidateId, n] of perCandidate) this.sql.countDispatch.run(n, jobId, candidateId);
      }
      for (const [jobId, n] of rollouts) this.sql.countRollout.run(n, now, jobId);
      for (const [jobId, u] of usage) this.sql.countUsage.run(u.calls, u.promptTokens, u.completionTokens, u.totalTokens, jobId);
    } finally {
      // Applied or rolled back with the batch: either way they must not leak into the next one.
      this.clearCounts();
    }
  }

  private clearCounts(): void {
    this.pending.rollouts.clear();
    this.pending.dispatches.clear();
    this.pending.usage.clear();
    this.pending.now = '';
  }

  getRollout(jobId: string, rolloutId: string): Promise<RolloutRecord | null> {
    return Promise.resolve(this.getRolloutNow(jobId, rolloutId));
  }

  getRolloutNow(jobId: string, rolloutId: string): RolloutRecord | null {
    const row = this.sql.getRollout.get(jobId, rolloutId) as RolloutsTable | undefined;
    return row ? toRollout(row) : null;
  }

  completeRolloutCall(jobId: string, rolloutId: string, call: RolloutCall, now: string): Promise<void> {
    const s = this.sql;
    // Nobody waits for this record (the answer is already on its way): it rides with the next batch.
    return this.group.runLazy(() => {
      const input = call.inputMessages === null ? null : JSON.stringify(call.inputMessages);
      const row = s.completeCall.get(
        call.failed ? 'failed' : 'completed', call.outputText, call.latencyMs,
        call.usage === null ? null : JSON.stringify(call.usage), input, now, jobId, rolloutId,
      ) as { call_count: number } | undefined;
      if (!row) return;
      if (Number(row.call_count) <= MAX_RECORDED_CALLS_PER_ROLLOUT) s.insertCall.run(callRow(jobId, rolloutId, Number(row.call_count), call, input, now));
      // Last, as for rollout counts: a unit rolled back to its savepoint never left usage behind.
      const u = usageOfCall(call.usage, call.failed);
      if (isZeroUsage(u)) return;
      const sum = this.pending.usage.get(jobId);
      this.pending.usage.set(jobId, sum ? addUsage(sum, u) : u);
    });
  }

  recordReward(r: NewReward, event: NewEvent, now: string): Promise<RewardOutcome> {
    const s = this.sql;
    return this.group.run((): RewardOutcome => {
      const gate = s.rewardGate.get(r.jobId) as Pick<JobsTable, 'status' | 'reward_count' | 'deleted_at'> | undefined;
      // A job deleted since the caller's lookup (another instance's cache): nothing is stored for it.
      if (!gate || gate.deleted_at !== null) throw new JobGoneError();
      const row = rewardRow(rewardAfterEnd(r, gate.status, gate.reward_count) ? { ...r, split: 'monitor' } : r, now);
      // Before anything is written: the id stored since the caller's lookup is resolved again (NewReward.newRollout).
      if (r.newRollout && s.getRollout.get(r.jobId, r.rolloutId)) throw new RolloutStoredMeanwhile(r.rolloutId);
      if (s.insertReward.run(row).changes === 0) {
        const stored = s.getReward.get(r.jobId, r.rolloutId) as RewardsTable;
        return { duplicate: true, reward: toReward(stored), job: toJob(s.getJob.get(r.jobId) as JobsTable), moments: null };
      }
      const split = row.split;
      const stats = { x: r.reward, job_id: r.jobId, id: r.candidateId };
      const unit = r.reward >= 0 && r.reward <= 1 ? 1 : 0;
      const updated = (split === 'val' ? s.welfordVal.get(stats) : split === 'monitor' ? s.welfordMonitor.get({ ...stats, unit }) : s.welfordOnline.get({ ...stats, unit })) as
        Pick<CandidatesTable, (typeof MOMENT_COLUMNS)[number]> | undefined;
      if (r.newRollout) {
        // The rollout record the reward names, counted as a dispatched rollout (as a call's would be), in this savepoint.
        s.insertRollout.run(r.jobId, r.rolloutId, r.candidateId, r.seed, split, r.rolloutCorrelationId ?? null, null, now, now);
        s.countDispatch.run(1, r.jobId, r.candidateId);
        s.countRollout.run(1, now, r.jobId);
      }
      // No rollout record (a reward by candidate_id only): nothing to update.
      if (r.rolloutStored !== false || r.newRollout) s.rolloutReward.run(r.reward, now, r.jobId, r.rolloutId);
      const monitor = split === 'monitor';
      const job = s.countReward.get(monitor ? 0 : 1, split === 'val' || monitor ? 0 : 1, now, r.jobId) as JobsTable | undefined;
      if (!job) throw new Error(`job ${r.jobId} not found`);
      s.insertEvent.run(r.jobId, job.event_seq, event.eventType, event.message, JSON.stringify(withStoredSplit(event.data, split)), now);
      return { duplicate: false, reward: toReward(row), job: toJob(job), moments: updated ? toMoments(updated) : null };
    });
  }
}
