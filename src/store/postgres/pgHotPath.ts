import type pg from 'pg';
import type { HotPath } from '../hotPath.js';
import { rewardRow } from '../hotPath.js';
import { toJob, toMoments, toReward, toRollout } from '../rows.js';
import type { CandidatesTable, JobsTable, RewardsTable, RolloutsTable } from '../schema.js';
import type { NewEvent, NewReward, NewRollout, RewardOutcome, RolloutCall, RolloutRecord } from '../types.js';
import { usageOfCall } from '../usage.js';
import { COMPLETE_CALLS, GET_ROLLOUTS, INSERT_ROLLOUTS, RECORD_REWARDS } from './pgBatchSql.js';

interface Item<T> { values: unknown[]; resolve(v: T): void; reject(err: unknown): void }
type Kind = 'reads' | 'rollouts' | 'calls' | 'rewards';

/**
 * PostgreSQL's hot path: writes queued in one turn of the event loop are committed by ONE statement
 * per kind (pgBatchSql.ts), each its own implicit transaction: a batch of rewards costs one round
 * trip, not five per reward plus BEGIN, lock and COMMIT (KyselyHotPath). Each caller's promise
 * settles after its statement committed, so a 2xx still means "committed".
 *
 * Each kind has at most one statement in flight (see flush). If a batch's statement fails, every item of
 * it runs again alone, so only the failing item's caller gets the error.
 */
export class PgHotPath implements HotPath {
  private readonly queues: Record<Kind, Item<unknown>[]> = { reads: [], rollouts: [], calls: [], rewards: [] };
  private scheduled = false;
  private readonly running = new Set<Kind>();

  constructor(private readonly pool: pg.Pool, private readonly maxBatch = 512) {}

  insertRollout(r: NewRollout, now: string): Promise<boolean> {
    const input = r.inputMessages === null ? null : JSON.stringify(r.inputMessages);
    return this.enqueue<boolean>('rollouts', [r.jobId, r.id, r.candidateId, r.seed, r.split, r.correlationId, input, now]);
  }

  /** Batched too: every proxied call with a client rollout id reads first (is this rollout known?). */
  async getRollout(jobId: string, rolloutId: string): Promise<RolloutRecord | null> {
    const row = await this.enqueue<RolloutsTable | null>('reads', [jobId, rolloutId]);
    return row ? toRollout(row) : null;
  }

  async completeRolloutCall(jobId: string, rolloutId: string, call: RolloutCall, now: string): Promise<void> {
    const u = usageOfCall(call.usage, call.failed);
    await this.enqueue<void>('calls', [
      jobId, rolloutId, call.failed ? 'failed' : 'completed', call.outputText, call.latencyMs, call.usage === null ? null : JSON.stringify(call.usage),
      call.inputMessages === null ? null : JSON.stringify(call.inputMessages), now, call.module,
      call.variables === null ? null : JSON.stringify(call.variables), call.failed ? 1 : 0, u.calls, u.promptTokens, u.completionTokens, u.totalTokens,
    ]);
  }

  async recordReward(r: NewReward, event: NewEvent, now: string): Promise<RewardOutcome> {
    const row = rewardRow(r, now);
    const stored = await this.enqueue<{ job: JobsTable; moments: CandidatesTable | null } | null>('rewards', [
      row.job_id, row.rollout_id, row.candidate_id, row.reward, row.split, row.seed, row.metadata, row.created_at,
      event.eventType, event.message, JSON.stringify(event.data ?? {}), row.feedback, row.feedback_by_module,
    ]);
    if (stored) return { duplicate: false, reward: toReward(row), job: toJob(stored.job), moments: stored.moments ? toMoments(stored.moments) : null };
    // A duplicate (rare): what was stored first, and the job as it is now.
    const [first, job] = await Promise.all([
      this.pool.query<RewardsTable>({ name: 'miprox_get_reward', text: 'select * from rewards where job_id = $1 and rollout_id = $2', values: [r.jobId, r.rolloutId] }),
      this.pool.query<JobsTable>({ name: 'miprox_get_job', text: 'select * from jobs where id = $1', values: [r.jobId] }),
    ]);
    if (!first.rows[0] || !job.rows[0]) throw new Error(`reward for ${r.rolloutId} neither stored nor found`);
    return { duplicate: true, reward: toReward(first.rows[0]), job: toJob(job.rows[0]), moments: null };
  }

  private enqueue<T>(kind: Kind, values: unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queues[kind].push({ values, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Starts one statement per kind with what is queued, one statement per kind at a time. Kinds run
   * side by side: callers await what they depend on (a call record is queued after its rollout's
   * insert resolved, a reward after the proxied call that inserted its rollout answered), so batches
   * need no order among themselves, and every statement locks its job rows first, so concurrent ones
   * queue on those locks instead of deadlocking. One at a time per kind, because the job row is a
   * hot row: writers of one job serialize on its lock through their commit's WAL flush anyway, and
   * whatever arrives meanwhile joins the next, larger batch.
   */
  private flush(): void {
    this.scheduled = false;
    for (const kind of ['reads', 'rollouts', 'calls', 'rewards'] as const) {
      if (this.running.has(kind)) continue;
      const batch = this.queues[kind].splice(0, this.maxBatch);
      if (batch.length === 0) continue;
      this.running.add(kind);
      void this.commit(kind, batch).finally(() => {
        this.running.delete(kind);
        if (this.queues[kind].length > 0) this.schedule();
      });
    }
  }

  private async commit(kind: Kind, batch: Item<unknown>[]): Promise<void> {
    try {
      const results = await this.run(kind, batch);
      batch.forEach((item, i) => item.resolve(results[i]));
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      // Rare: one bad item must not fail its neighbours. The statement left nothing behind; retry alone.
      else for (const item of batch) await this.run(kind, [item]).then(([v]) => item.resolve(v), item.reject);
    }
  }

  /** One statement for the batch; the result of each item, in batch order. */
  private async run(kind: Kind, batch: Item<unknown>[]): Promise<unknown[]> {
    const columns = batch[0]!.values.map((_, c) => batch.map((item) => item.values[c]));
    if (kind === 'reads') {
      const res = await this.pool.query<RolloutsTable>({ name: 'miprox_get_rollouts', text: GET_ROLLOUTS, values: columns });
      const byKey = new Map(res.rows.map((r) => [`${r.job_id}\u0000${r.id}`, r]));
      return batch.map((item) => byKey.get(`${String(item.values[0])}\u0000${String(item.values[1])}`) ?? null);
    }
    if (kind === 'rollouts') {
      const res = await this.pool.query<{ ord: string }>({ name: 'miprox_insert_rollouts', text: INSERT_ROLLOUTS, values: columns });
      const inserted = new Set(res.rows.map((r) => Number(r.ord)));
      return batch.map((_, i) => inserted.has(i + 1));
    }
    if (kind === 'calls') {
      await this.pool.query({ name: 'miprox_complete_calls', text: COMPLETE_CALLS, values: columns });
      return batch.map(() => undefined);
    }
    const res = await this.pool.query<{ ord: string; job_id: string; job: JobsTable | null; moments: CandidatesTable | null }>({ name: 'miprox_record_rewards', text: RECORD_REWARDS, values: columns });
    const jobs = new Map(res.rows.flatMap((r) => (r.job ? [[r.job_id, r.job] as const] : [])));
    const byOrd = new Map(res.rows.map((r) => [Number(r.ord), { job: jobs.get(r.job_id)!, moments: r.moments }]));
    return batch.map((_, i) => byOrd.get(i + 1) ?? null);
  }
}
