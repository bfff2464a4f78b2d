import type pg from 'pg';
import type { HotPath } from '../hotPath.js';
import { rewardRow } from '../hotPath.js';
import { toJob, toMoments, toReward, toRollout } from '../rows.js';
import type { CandidatesTable, JobsTable, RewardsTable, RolloutsTable } from '../schema.js';
import type { NewEvent, NewReward, NewRollout, RewardOutcome, RolloutCall, RolloutRecord } from '../types.js';
import { usageOfCall } from '../usage.js';
import { COMPLETE_CALLS, INSERT_ROLLOUTS, RECORD_REWARDS } from './pgBatchSql.js';

interface Item<T> { values: unknown[]; resolve(v: T): void; reject(err: unknown): void }
type Kind = 'rollouts' | 'calls' | 'rewards';

/**
 * PostgreSQL's hot path: writes queued in one turn of the event loop are committed by ONE statement
 * per kind (pgBatchSql.ts), each its own implicit transaction: a batch of rewards costs one round
 * trip, not five per reward plus BEGIN, lock and COMMIT (KyselyHotPath). Each caller's promise
 * settles after its statement committed, so a 2xx still means "committed".
 *
 * Kinds run in a fixed order (rollouts, call records, rewards) and one batch at a time, so a reward
 * never commits before the rollout it names was inserted by an earlier call. If a batch's statement
 * fails, every item of it runs again alone, so only the failing item's caller gets the error.
 */
export class PgHotPath implements HotPath {
  private readonly queues: Record<Kind, Item<unknown>[]> = { rollouts: [], calls: [], rewards: [] };
  private scheduled = false;

  constructor(private readonly pool: pg.Pool, private readonly maxBatch = 512) {}

  insertRollout(r: NewRollout, now: string): Promise<boolean> {
    const input = r.inputMessages === null ? null : JSON.stringify(r.inputMessages);
    return this.enqueue<boolean>('rollouts', [r.jobId, r.id, r.candidateId, r.seed, r.split, r.correlationId, input, now]);
  }

  async getRollout(jobId: string, rolloutId: string): Promise<RolloutRecord | null> {
    const res = await this.pool.query<RolloutsTable>({ name: 'miprox_get_rollout', text: 'select * from rollouts where job_id = $1 and id = $2', values: [jobId, rolloutId] });
    const row = res.rows[0];
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
      event.eventType, event.message, JSON.stringify(event.data ?? {}),
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
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      for (const kind of ['rollouts', 'calls', 'rewards'] as const) {
        const batch = this.queues[kind].splice(0, this.maxBatch);
        if (batch.length > 0) await this.commit(kind, batch);
      }
    } finally {
      if (Object.values(this.queues).some((q) => q.length > 0)) setImmediate(() => void this.flush());
      else this.scheduled = false;
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
    if (kind === 'rollouts') {
      const res = await this.pool.query<{ ord: string }>({ name: 'miprox_insert_rollouts', text: INSERT_ROLLOUTS, values: columns });
      const inserted = new Set(res.rows.map((r) => Number(r.ord)));
      return batch.map((_, i) => inserted.has(i + 1));
    }
    if (kind === 'calls') {
      await this.pool.query({ name: 'miprox_complete_calls', text: COMPLETE_CALLS, values: columns });
      return batch.map(() => undefined);
    }
    const res = await this.pool.query<{ ord: string; job: JobsTable; moments: CandidatesTable | null }>({ name: 'miprox_record_rewards', text: RECORD_REWARDS, values: columns });
    const byOrd = new Map(res.rows.map((r) => [Number(r.ord), { job: r.job, moments: r.moments }]));
    return batch.map((_, i) => byOrd.get(i + 1) ?? null);
  }
}
