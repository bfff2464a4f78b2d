import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { JobGoneError } from '../../shared/errors.js';
import type { HotPath } from '../hotPath.js';
import { rewardAfterEnd, rewardRow, storedAssignment } from '../hotPath.js';
import { toJob, toMoments, toReward, toRollout } from '../rows.js';
import type { CandidatesTable, JobsTable, RewardsTable, RolloutsTable } from '../schema.js';
import { RolloutStoredMeanwhile, type NewEvent, type NewReward, type NewRollout, type RewardOutcome, type RolloutAssignment, type RolloutCall, type RolloutRecord } from '../types.js';
import { usageOfCall } from '../usage.js';
import { isDatabaseUnavailable } from '../unavailable.js';
import { GET_ROLLOUTS, RECORD_REWARDS, WRITE_ROLLOUTS_AND_CALLS } from './pgBatchSql.js';

interface Item<T> { values: unknown[]; resolve(v: T): void; reject(err: unknown): void }
type Kind = 'reads' | 'rollouts' | 'calls' | 'rewards';
/** What runs as one statement: new rollouts and call records share one (WRITE_ROLLOUTS_AND_CALLS). */
type Statement = 'reads' | 'writes' | 'rewards';
const ROLLOUT_COLUMNS = 8;
const CALL_COLUMNS = 17;
/**
 * A rollout insert's outcome: true, inserted; the stored assignment when the id existed; null when
 * the id was not found at all (not expected: the statement finds late commits too; read it).
 */
type RolloutWrite = true | RolloutAssignment | null | typeof JOB_GONE;
/** A rollout of a job whose row is gone (WRITE_ROLLOUTS_AND_CALLS gone_ord): JobGoneError for its caller. */
const JOB_GONE = 'gone' as const;

/**
 * PostgreSQL's hot path: writes queued in one turn of the event loop are committed by ONE statement
 * (pgBatchSql.ts) for rewards and one for new rollouts and call records together, each its own
 * implicit transaction: a batch costs one round trip, not three to five statements per item plus
 * BEGIN, lock and COMMIT (the portable kysely version it replaced). Each caller's promise settles after its statement
 * committed, so a 2xx still means "committed".
 *
 * Each statement has at most one execution in flight (see flush). If a batch's statement fails, every
 * item of it runs again alone, so only the failing item's caller gets the error.
 */
export class PgHotPath implements HotPath {
  private readonly queues: Record<Kind, Item<unknown>[]> = { reads: [], rollouts: [], calls: [], rewards: [] };
  private scheduled = false;
  private readonly running = new Set<Statement>();
  /** When each running statement started (stalledMs, for /readyz). */
  private readonly startedAt = new Map<Statement, number>();

  /** Every statement is a round trip and backend CPU: a client's rollout id is claimed, not read first. */
  readonly rolloutIdsByClaim = true;

  constructor(private readonly pool: pg.Pool, private readonly maxBatch = 512) {}

  async insertRollout(r: NewRollout, now: string): Promise<boolean> {
    const written = await this.writeRollout(r, now);
    if (written === JOB_GONE) throw new JobGoneError();
    return written === true;
  }

  /** The insert's statement also finds the stored rollout when the id existed: no read of its own. */
  async claimRollout(r: NewRollout, now: string): Promise<RolloutAssignment | null> {
    const written = await this.writeRollout(r, now);
    if (written === JOB_GONE) throw new JobGoneError();
    if (written === true) return null;
    if (written) return written;
    // Not expected since the statement's no-op upsert finds late commits too; kept as the safe answer.
    return storedAssignment(this, r);
  }

  private writeRollout(r: NewRollout, now: string): Promise<RolloutWrite> {
    const input = r.inputMessages === null ? null : JSON.stringify(r.inputMessages);
    return this.enqueue<RolloutWrite>('rollouts', [r.jobId, r.id, r.candidateId, r.seed, r.split, r.correlationId, input, now]);
  }

  /** Batched too: rewards of rollouts this instance did not dispatch read their rollout. */
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
      call.toolCalls ?? 0, call.ownSystemText === true ? 1 : 0,
    ]);
  }

  async recordReward(r: NewReward, event: NewEvent, now: string): Promise<RewardOutcome> {
    if (r.newRollout) return this.recordRewardWithRollout(r, event, now);
    const row = rewardRow(r, now);
    // The statement reaches the rollout only when it is known to be stored (RECORD_REWARDS); the
    // reward service always says, other callers pay a read.
    const rolloutStored = r.rolloutStored ?? (await this.getRollout(r.jobId, r.rolloutId)) !== null;
    const stored = await this.enqueue<StoredReward | null>('rewards', rewardValues(r, row, event, rolloutStored));
    if (stored) return { duplicate: false, reward: toReward({ ...row, split: stored.split }), job: toJob(stored.job), moments: stored.moments ? toMoments(stored.moments) : null };
    return this.duplicateOf(r);
  }

  /**
   * A reward that creates its rollout record (NewReward.newRollout; rare: a client's id reported
   * before its first call), in one transaction of its own, outside the batches: the job row locked
   * first (as every writer does), the split decided as RECORD_REWARDS will decide it under that
   * lock, the rollout inserted and counted, then the reward by the batch statement for one item.
   */
  private async recordRewardWithRollout(r: NewReward, event: NewEvent, now: string): Promise<RewardOutcome> {
    const client = await this.pool.connect();
    let stored: StoredReward | null;
    try {
      await client.query('begin');
      try {
        const gate = await client.query<Pick<JobsTable, 'status' | 'reward_count' | 'deleted_at'>>('select status, reward_count, deleted_at from jobs where id = $1 for update', [r.jobId]);
        if (!gate.rows[0] || gate.rows[0].deleted_at !== null) throw new JobGoneError();
        const split = rewardAfterEnd(r, gate.rows[0].status, Number(gate.rows[0].reward_count)) ? 'monitor' : r.split;
        const inserted = await client.query(`insert into rollouts (job_id, id, candidate_id, seed, split, correlation_id, status, input_messages,
            output_text, latency_ms, usage, call_count, reward, created_at, updated_at)
          values ($1, $2, $3, $4, $5, $7, 'dispatched', null, null, null, null, 0, null, $6, $6) on conflict (job_id, id) do nothing`,
        [r.jobId, r.rolloutId, r.candidateId, r.seed, split, now, r.rolloutCorrelationId ?? null]);
        if (inserted.rowCount === 0) throw new RolloutStoredMeanwhile(r.rolloutId);
        await client.query('update candidates set dispatches = dispatches + 1 where job_id = $1 and id = $2', [r.jobId, r.candidateId]);
        await client.query('update jobs set rollout_count = rollout_count + 1 where id = $1', [r.jobId]);
        const row = rewardRow(r, now);
        const res = await client.query<RewardRow>({ name: 'miprox_record_rewards', text: RECORD_REWARDS, values: rewardValues(r, row, event, true).map((v) => [v]) });
        stored = storedRewards([r], res.rows)[0] ?? null;
        // A reward already stored for the id without a rollout record (before rewards made one): no record now either.
        await client.query(stored ? 'commit' : 'rollback');
        if (stored) return { duplicate: false, reward: toReward({ ...row, split: stored.split }), job: toJob(stored.job), moments: stored.moments ? toMoments(stored.moments) : null };
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      }
    } finally {
      client.release();
    }
    return this.duplicateOf(r);
  }

  /**
   * A duplicate (rare): what was stored first, and the job as it is now. Or the job was deleted since
   * the caller's lookup (RECORD_REWARDS stores nothing for it): JobGoneError.
   */
  private async duplicateOf(r: NewReward): Promise<RewardOutcome> {
    const [first, job] = await Promise.all([
      this.pool.query<RewardsTable>({ name: 'miprox_get_reward', text: 'select * from rewards where job_id = $1 and rollout_id = $2', values: [r.jobId, r.rolloutId] }),
      this.pool.query<JobsTable>({ name: 'miprox_get_job', text: 'select * from jobs where id = $1', values: [r.jobId] }),
    ]);
    if (!job.rows[0] || job.rows[0].deleted_at !== null) throw new JobGoneError();
    if (!first.rows[0]) throw new Error(`reward for ${r.rolloutId} neither stored nor found`);
    return { duplicate: true, reward: toReward(first.rows[0]), job: toJob(job.rows[0]), moments: null };
  }

  stalledMs(): number {
    let oldest = Infinity;
    for (const t of this.startedAt.values()) oldest = Math.min(oldest, t);
    return oldest === Infinity ? 0 : Math.round(performance.now() - oldest);
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
   * Starts each statement with what is queued for it, one execution per statement at a time.
   * Statements run side by side: callers await what they depend on (a call record is queued after
   * its rollout's insert resolved, a reward after the proxied call that inserted its rollout
   * answered), so batches need no order among themselves, and every statement locks its job rows
   * first, so concurrent ones queue on those locks instead of deadlocking. One at a time, because
   * the job row is a hot row: writers of one job serialize on its lock anyway, and whatever arrives
   * meanwhile joins the next, larger batch. Two write statements in flight were tried (issue 18,
   * bench:cluster): batches of 8 instead of 12, 0.12 statements per proxied call instead of 0.08,
   * more backend CPU per call and no throughput gain that showed above the machine's noise.
   */
  private flush(): void {
    this.scheduled = false;
    for (const statement of ['reads', 'writes', 'rewards'] as const) {
      if (this.running.has(statement)) continue;
      const kinds: Kind[] = statement === 'writes' ? ['rollouts', 'calls'] : [statement];
      const batches = kinds.map((kind) => ({ kind, batch: this.queues[kind].splice(0, this.maxBatch) })).filter((b) => b.batch.length > 0);
      if (batches.length === 0) continue;
      this.running.add(statement);
      this.startedAt.set(statement, performance.now());
      void this.commit(batches).finally(() => {
        this.running.delete(statement);
        this.startedAt.delete(statement);
        if (kinds.some((kind) => this.queues[kind].length > 0)) this.schedule();
      });
    }
  }

  private async commit(batches: { kind: Kind; batch: Item<unknown>[] }[]): Promise<void> {
    try {
      const results = await this.run(batches);
      batches.forEach(({ batch }, b) => batch.forEach((item, i) => item.resolve(results[b]![i])));
    } catch (err) {
      const all = batches.flatMap(({ kind, batch }) => batch.map((item) => ({ kind, item })));
      // An outage fails every item alike: retried one by one, a batch of n would wait out n connect
      // or query deadlines in a row (minutes for the last caller), all failing the same way.
      if (all.length === 1 || isDatabaseUnavailable(err)) for (const { item } of all) item.reject(err);
      // Rare: one bad item must not fail its neighbours. The statement left nothing behind; retry alone.
      else for (const { kind, item } of all) await this.run([{ kind, batch: [item] }]).then((r) => item.resolve(r[0]![0]), item.reject);
    }
  }

  /** One statement for the batches (one kind each); the result of each item, in batch order. */
  private async run(batches: { kind: Kind; batch: Item<unknown>[] }[]): Promise<unknown[][]> {
    const columnsOf = (batch: Item<unknown>[] | undefined, width: number) =>
      Array.from({ length: width }, (_, c) => (batch ?? []).map((item) => item.values[c]));
    const { kind, batch } = batches[0]!;
    if (kind === 'rollouts' || kind === 'calls') {
      const rollouts = batches.find((b) => b.kind === 'rollouts')?.batch;
      const calls = batches.find((b) => b.kind === 'calls')?.batch;
      const values = [...columnsOf(rollouts, ROLLOUT_COLUMNS), ...columnsOf(calls, CALL_COLUMNS)];
      const res = await this.pool.query<WriteResult>({ name: 'miprox_write_rollouts_and_calls', text: WRITE_ROLLOUTS_AND_CALLS, values });
      return batches.map((b) => (b.kind === 'rollouts' ? rolloutOutcomes(b.batch, res.rows[0]) : b.batch.map(() => undefined)));
    }
    const columns = columnsOf(batch, batch[0]!.values.length);
    if (kind === 'reads') {
      const res = await this.pool.query<RolloutsTable>({ name: 'miprox_get_rollouts', text: GET_ROLLOUTS, values: columns });
      const byKey = new Map(res.rows.map((r) => [`${r.job_id}\u0000${r.id}`, r]));
      return [batch.map((item) => byKey.get(`${String(item.values[0])}\u0000${String(item.values[1])}`) ?? null)];
    }
    const res = await this.pool.query<RewardRow>({ name: 'miprox_record_rewards', text: RECORD_REWARDS, values: columns });
    return [storedRewards(batch, res.rows)];
  }
}

type StoredReward = { job: JobsTable; split: RewardsTable['split']; moments: CandidatesTable | null };
type RewardRow = { ord: string; job_id: string; split: string; job: JobsTable | null; moments: CandidatesTable | null };

/** RECORD_REWARDS's parameters for one reward ($1..$15, one value each). */
function rewardValues(r: NewReward, row: RewardsTable, event: NewEvent, rolloutStored: boolean): unknown[] {
  return [
    row.job_id, row.rollout_id, row.candidate_id, row.reward, row.split, row.seed, row.metadata, row.created_at,
    event.eventType, event.message, JSON.stringify(event.data ?? {}), row.feedback, row.feedback_by_module, rolloutStored, r.maxRewards ?? null,
  ];
}

/** Each item's stored reward, in batch order; null for a duplicate. */
function storedRewards(batch: readonly unknown[], rows: RewardRow[]): (StoredReward | null)[] {
  const jobs = new Map(rows.flatMap((r) => (r.job ? [[r.job_id, r.job] as const] : [])));
  const byOrd = new Map(rows.map((r) => [Number(r.ord), { job: jobs.get(r.job_id)!, split: r.split as RewardsTable['split'], moments: r.moments }]));
  return batch.map((_, i) => byOrd.get(i + 1) ?? null);
}

interface WriteResult {
  inserted: string[] | null;
  gone_ord: string[] | null;
  existing_ord: string[] | null;
  existing_candidate: string[] | null;
  existing_split: string[] | null;
  existing_seed: (number | null)[] | null;
}

/**
 * Each rollout item's outcome, in batch order. A second item with the id of an earlier one in the
 * same batch (two claims of one new id) follows the first: the statement inserted only the first.
 */
function rolloutOutcomes(batch: Item<unknown>[], row: WriteResult | undefined): RolloutWrite[] {
  const inserted = new Set((row?.inserted ?? []).map(Number));
  const gone = new Set((row?.gone_ord ?? []).map(Number));
  const existing = new Map<number, RolloutAssignment>();
  (row?.existing_ord ?? []).forEach((ord, i) => existing.set(Number(ord), {
    candidateId: row!.existing_candidate![i]!, split: row!.existing_split![i] as RolloutAssignment['split'], seed: row!.existing_seed![i] ?? null,
  }));
  // What a later item of the same id gets: the first item's assignment when the first was inserted.
  const firstOfId = new Map<string, RolloutAssignment | null>();
  return batch.map((item, i) => {
    const [jobId, id, candidateId, seed, split] = item.values as [string, string, string, number | null, RolloutAssignment['split']];
    if (gone.has(i + 1)) return JOB_GONE;
    const key = `${jobId}\u0000${id}`;
    if (firstOfId.has(key)) return firstOfId.get(key) ?? null;
    const outcome: RolloutWrite = inserted.has(i + 1) ? true : (existing.get(i + 1) ?? null);
    firstOfId.set(key, outcome === true ? { candidateId, split, seed } : outcome);
    return outcome;
  });
}
