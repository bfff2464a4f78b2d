import { type Kysely, type Transaction, sql } from 'kysely';
import type { Clock } from '../shared/clock.js';
import { BASELINE_ID } from '../shared/ids.js';
import { JobGoneError } from '../shared/errors.js';
import { type Database, MIPROX_TABLES } from './schema.js';
import type { HotPath } from './hotPath.js';
import { appendEventTx, candidateKeys, candidateRow, insertApiKey, insertBaseline, insertTenant, isUniqueViolation, mustJob, toKey } from './statements.js';
import { type KeyColumn, afterKeyset, decodeCursor, listingId, toPage } from './cursors.js';
import { callModules, discoverModule, insertModules, listModules, moduleCallOrder, recordUnmatched, rolloutCalls } from './programQueries.js';
import { bootstrapSeedsIssued, insertScheduledRollout } from './schedulerQueries.js';
import { forgetCallText } from './retentionQueries.js';
import { deletedJobIds, markJobDeleted, type PurgeOptions, purgeJob } from './jobPurge.js';
import { isPooledConnectionLost, isTablesMissing } from './unavailable.js';
import { type SeededKey, seedKey } from './seedKey.js';
import {
  flagMissingRewards, missingRewardCounts, missingRewardCountsOfJobs, monitorSeedCells, monitorSeedCellsOfJobs, onlineSeedCells, onlineSeedCellsOfJobs,
} from './evidenceQueries.js';
import {
  candidatesOfJobs, latestEventsOfJobs, modulesOfJobs, proposalSummariesOfJobs, unmatchedPromptCountsOfJobs, valRewardsOfJobs, valRunTimesOfJobs,
} from './jobViewQueries.js';
import { demoSourceCalls, moduleBlame, moduleMadeToolCalls, rolloutFeedback } from './demoQueries.js';
import type { SeedCell } from '../optimizer/core/seedClusters.js';
import type { MissingCounts } from '../optimizer/core/missingRewards.js';
import { type UsageTotals, ZERO_USAGE_COLUMNS } from './usage.js';
import { toCandidate, toJob, toProposal, toReward, toRollout, toEvent } from './rows.js';
import { closeRunningProposals, proposalFailedEvent } from './proposalClosing.js';
import { databaseNowMs, leaseEndFrom } from './leaseClock.js';
import type {
  ProposalFinish, ProposalStart, ProposalTries,
  ApiKeyRecord, CandidateListOptions, ClosedProposal, CandidateRecord, EventRecord, JobRecord, JobStatus, ModuleRecord, NewCandidate, NewEvent,
  NewJob, NewReward, NewRollout, Page, ProposalRecord, ProposalSummary, RewardOutcome, RewardRecord, RolloutAssignment, RolloutCall, RolloutCallRecord, CallSelection, RolloutRecord,
  SeedEvalListOptions, Split, Store, Tenant, DemoSourceCall, RolloutFeedback, ValSides,
} from './types.js';
import { FINAL_STATUSES, TRAINING_SPLITS } from './types.js';
import type { EventType } from './eventTypes.js';

/** Names every table of miprox's and reads none of them (the readiness round trip, `ping`). */
const EVERY_TABLE = sql.raw(MIPROX_TABLES.map((t) => `select 1 from "${t}" where 1 = 0`).join(' union all '));

/**
 * A hot-path statement waiting longer than this makes ping fail (/readyz); healthy ones take
 * milliseconds. On SQLite: the write lock held by another process this long (writes then fail).
 */
const HOT_PATH_STALL_MS = 5000;
/** More than a pool's connections (10 by default), so a pool whose every connection died still answers. */
const PING_ATTEMPTS = 12;
/** Newest first; (created_at, id) is unique, so pages stay stable while jobs are being created. */
const JOB_KEYS: KeyColumn<'created_at' | 'id'>[] = [{ col: 'created_at', dir: 'desc', kind: 'text' }, { col: 'id', dir: 'desc', kind: 'text' }];
/** Arrival order; rollout ids are unique within a job. */
const PROPOSAL_KEYS: KeyColumn<'seq'>[] = [{ col: 'seq', dir: 'desc', kind: 'int' }];
const REWARD_KEYS: KeyColumn<'created_at' | 'rollout_id'>[] = [{ col: 'created_at', dir: 'asc', kind: 'text' }, { col: 'rollout_id', dir: 'asc', kind: 'text' }];

/**
 * The one query layer behind both databases. Dialect differences stay out of here: every statement
 * is portable SQL (ON CONFLICT, RETURNING, partial unique indexes work on SQLite >= 3.35 and PostgreSQL).
 * Counters and Welford updates are single UPDATE statements, so concurrent writers need no row locks.
 * The one exception is the hot path (hotPath.ts): a dialect may bring its own implementation of those
 * statements (SQLite and PostgreSQL do), with the same contract.
 */
export class KyselyStore implements Store {
  /** The per-call and per-reward statements, each dialect's own (hotPath.ts). */
  private readonly hot: HotPath;
  /** Jobs seen past their unmatched-event cap (programQueries.ts recordUnmatched): one id each, never removed. */
  private readonly unmatchedPastCap = new Set<string>();

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: 'sqlite' | 'postgres',
    private readonly clock: Clock,
    private readonly extras: {
      hot: HotPath; beforeClose?: () => Promise<void>;
      /** Throws when the database must not be used now (SQLite: its file was deleted or replaced); ping asks it first. */
      assertUsable?: () => void;
    },
  ) {
    this.hot = extras.hot;
    this.getRolloutNow = extras.hot.getRolloutNow?.bind(extras.hot);
  }

  readonly getRolloutNow: Store['getRolloutNow'];

  /**
   * Every transaction that writes a job's candidates, rollouts or rewards locks the job rows first,
   * in id order. Concurrent writers (other instances on PostgreSQL) then take row locks in one order
   * and cannot deadlock. SQLite has a single writer and needs nothing.
   */
  private async lockJobs(trx: Transaction<Database>, jobIds: string[]): Promise<void> {
    if (this.dialect !== 'postgres' || jobIds.length === 0) return;
    await trx.selectFrom('jobs').select('id').where('id', 'in', [...jobIds].sort()).orderBy('id').forUpdate().execute();
  }

  private nowMs = Number.NaN;
  private nowIso = '';

  /** The clock as ISO text; formatted once per millisecond (every proxied call stamps two writes). */
  private now(): string {
    const ms = this.clock.now();
    if (ms !== this.nowMs) {
      this.nowMs = ms;
      this.nowIso = new Date(ms).toISOString();
    }
    return this.nowIso;
  }

  /**
   * A fresh round trip, and the hot path's oldest statement: after a silent outage the database
   * answers new connections at once while proxied calls still wait behind a statement sent on a
   * dead one (until DATABASE_QUERY_TIMEOUT_MS drops it): not ready until it is gone.
   */
  async ping(): Promise<void> {
    this.extras.assertUsable?.();
    const stalled = this.hot.stalledMs?.() ?? 0;
    if (stalled > HOT_PATH_STALL_MS) {
      throw new Error(this.dialect === 'sqlite'
        ? `another process has held the database's write lock for ${Math.round(stalled)} ms`
        : `a write has waited ${stalled} ms for an answer`);
    }
    // A pooled connection whose backend was just terminated fails once and is discarded: the
    // database itself is fine, so ask again (each try drops one dead connection). A refused or
    // timed-out connect is not retried: that is the outage /readyz must report.
    // The round trip reads miprox's own tables, every one of them: `select 1` answered while the
    // schema was dropped or emptied by a restore under the server, and every request was failing; the
    // migrator's table alone said ready while one table dropped by hand failed every request on it.
    // Each is named with nothing read (`where 1 = 0`): a missing one fails the statement's planning.
    // PostgreSQL: the same round trip asks whether writes are refused (a standby after a failover,
    // a database put read-only): the fault window of a refused write (unavailable.ts) alone let
    // /readyz say ready again once the balancer's removal stopped the writes, and traffic came back.
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.dialect === 'postgres') {
          const { rows } = await sql<{ ro: string }>`select current_setting('transaction_read_only') as ro from kysely_migration where not exists (${EVERY_TABLE}) limit 1`.execute(this.db);
          if (rows[0]?.ro === 'on') throw new DatabaseReadOnly();
        } else {
          await sql`select 1 from kysely_migration where not exists (${EVERY_TABLE}) limit 1`.execute(this.db);
        }
        return;
      } catch (err) {
        if (err instanceof DatabaseReadOnly) throw err;
        if (isTablesMissing(err)) {
          const why = this.dialect === 'postgres' ? 'the schema was dropped, or a restore is under way' : 'dropped from the database file, or a restore is under way';
          throw new Error(`miprox's tables are missing (${why}): ${(err as Error).message}`);
        }
        if (attempt >= PING_ATTEMPTS || !isPooledConnectionLost(err)) throw err;
      }
    }
  }

  async close(): Promise<void> {
    await this.extras.beforeClose?.();
    await this.db.destroy();
  }

  // ---- tenants and keys -------------------------------------------------------------------------

  async createTenant(name: string): Promise<Tenant> {
    const createdAt = this.now();
    return { id: await insertTenant(this.db, name, createdAt), name, createdAt };
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const r = await this.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? { id: r.id, name: r.name, createdAt: r.created_at } : null;
  }

  async createApiKey(k: { tenantId: string; name: string; keyHash: string; prefix: string }): Promise<ApiKeyRecord> {
    return insertApiKey(this.db, k, this.now());
  }

  createTenantWithKey(k: { name: string; keyHash: string; prefix: string }): Promise<ApiKeyRecord> {
    const now = this.now();
    return this.db.transaction().execute(async (trx) => insertApiKey(trx, { ...k, tenantId: await insertTenant(trx, k.name, now) }, now));
  }

  seedApiKey(k: { name: string; keyHash: string; prefix: string }): Promise<SeededKey> {
    return seedKey(this.db, this.dialect, k, this.now());
  }

  async findActiveApiKey(keyHash: string): Promise<ApiKeyRecord | null> {
    const r = await this.db.selectFrom('api_keys').selectAll()
      .where('key_hash', '=', keyHash).where('revoked_at', 'is', null).executeTakeFirst();
    return r ? toKey(r) : null;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toKey);
  }

  async revokeApiKey(idOrPrefix: string): Promise<boolean> {
    const res = await this.db.updateTable('api_keys').set({ revoked_at: this.now() })
      .where((eb) => eb.or([eb('id', '=', idOrPrefix), eb('prefix', '=', idOrPrefix)]))
      .where('revoked_at', 'is', null).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  // ---- jobs ---------------------------------------------------------------------------------------

  async createJob(job: NewJob): Promise<JobRecord> {
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      await trx.insertInto('jobs').values({
        id: job.id, tenant_id: job.tenantId, system_id: job.systemId, status: 'running',
        config: JSON.stringify(job.config), baseline_instruction: job.modules[0]?.template ?? null,
        correlation_id: job.correlationId, metadata: JSON.stringify(job.metadata), dataset_summary: null,
        event_seq: 0, proposal_seq: 0, rollout_count: 0, reward_count: 0, rewards_since_proposal: 0,
        best_candidate_id: BASELINE_ID, served_candidate_id: null, guard_tripped_candidate_id: null, ...ZERO_USAGE_COLUMNS, created_at: now, updated_at: now,
      }).execute();
      await insertModules(trx, job.id, job.modules, 'declared', now);
      // The baseline exists from the start, also for a job that discovers its modules: every module
      // it does not set keeps its template, so the baseline is the program as the app sends it.
      await insertBaseline(trx, job.id, job.modules[0]?.template ?? '', now);
      await appendEventTx(trx, job.id, { eventType: 'mipro.job.status', message: 'job created (running)', data: { status: 'running' } }, now);
      return mustJob(trx, job.id);
    });
  }

  // A job marked deleted is found by no read: gone for every route and every instance at its commit.
  async getJob(id: string): Promise<JobRecord | null> {
    const r = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
    return r ? toJob(r) : null;
  }

  async getJobBySystemId(systemId: string): Promise<JobRecord | null> {
    const r = await this.db.selectFrom('jobs').selectAll().where('system_id', '=', systemId).where('deleted_at', 'is', null).executeTakeFirst();
    return r ? toJob(r) : null;
  }

  markJobDeleted(id: string): Promise<boolean> {
    return markJobDeleted(this.db, id, this.now());
  }

  deletedJobIds(): Promise<string[]> {
    return deletedJobIds(this.db);
  }

  purgeDeletedJob(id: string, opts: PurgeOptions): Promise<number | null> {
    return purgeJob(this.db, this.dialect, id, opts);
  }

  async listJobs(tenantId: string, opts: { limit: number; cursor?: string | null; status?: JobStatus }): Promise<Page<JobRecord>> {
    const listing = listingId(['jobs', tenantId, opts.status ?? null]);
    const after = decodeCursor(opts.cursor, listing, JOB_KEYS);
    let q = this.db.selectFrom('jobs').selectAll().where('tenant_id', '=', tenantId).where('deleted_at', 'is', null);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (after) q = q.where(afterKeyset(JOB_KEYS, after));
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit + 1).execute();
    return toPage(rows, opts.limit, toJob, listing, JOB_KEYS);
  }

  async transitionJob(id: string, from: readonly JobStatus[], to: JobStatus, event: NewEvent | readonly NewEvent[], served?: string | null, servedWas?: string | null): Promise<JobRecord | null> {
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      // A new served candidate (an end, a promote) is watched afresh by the guard.
      const serving = served !== undefined ? { served_candidate_id: served, guard_tripped_candidate_id: null } : {};
      let update = trx.updateTable('jobs').set({ status: to, updated_at: now, ...serving }).where('id', '=', id).where('status', 'in', [...from])
        .where('deleted_at', 'is', null);
      if (servedWas !== undefined) update = servedWas === null ? update.where('served_candidate_id', 'is', null) : update.where('served_candidate_id', '=', servedWas);
      const res = await update.executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return null;
      for (const e of Array.isArray(event) ? event : [event]) await appendEventTx(trx, id, e, now);
      // An ended job has no work in progress: a proposal still running (its instance alive or dead)
      // could add nothing now (finishProposal finds it failed), so it is closed with the end.
      if (FINAL_STATUSES.includes(to)) await closeRunningProposals(trx, id, { jobEnded: to }, now);
      return mustJob(trx, id);
    });
  }

  listModules(jobId: string): Promise<ModuleRecord[]> {
    return listModules(this.db, jobId);
  }

  discoverModule(jobId: string, m: { name: string | null; template: string; max: number }): Promise<ModuleRecord[]> {
    return discoverModule(this.db, (trx, ids) => this.lockJobs(trx, ids), jobId, m, this.now());
  }

  recordUnmatched(jobId: string, textHash: string, event: NewEvent | (() => NewEvent)): Promise<boolean> {
    return recordUnmatched(this.db, (trx, ids) => this.lockJobs(trx, ids), jobId, textHash, event, this.now(), this.unmatchedPastCap);
  }

  async unmatchedPromptCount(jobId: string): Promise<number> {
    const row = await this.db.selectFrom('unmatched_prompts').select((eb) => eb.fn.countAll<number>().as('n')).where('job_id', '=', jobId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async setDatasetSummary(jobId: string, summary: string): Promise<void> {
    await this.db.updateTable('jobs').set({ dataset_summary: summary, updated_at: this.now() }).where('id', '=', jobId).execute();
  }

  async addProposerUsage(jobId: string, u: UsageTotals): Promise<JobRecord> {
    // One statement: concurrent additions (several instances) never lose one, and RETURNING gives
    // each caller the counters right after its own addition (the caps' crossing is seen once).
    const row = await this.db.updateTable('jobs').set((eb) => ({
      proposer_calls: eb('proposer_calls', '+', u.calls),
      proposer_prompt_tokens: eb('proposer_prompt_tokens', '+', u.promptTokens),
      proposer_completion_tokens: eb('proposer_completion_tokens', '+', u.completionTokens),
      proposer_total_tokens: eb('proposer_total_tokens', '+', u.totalTokens),
      updated_at: this.now(),
    })).where('id', '=', jobId).returningAll().executeTakeFirst();
    if (!row) throw new JobGoneError();
    return toJob(row);
  }

  async setBestCandidate(jobId: string, candidateId: string, event: NewEvent): Promise<void> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('jobs').set({ best_candidate_id: candidateId, updated_at: now })
        .where('id', '=', jobId).where('deleted_at', 'is', null)
        .where((eb) => eb.or([eb('best_candidate_id', 'is', null), eb('best_candidate_id', '!=', candidateId)]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) > 0) await appendEventTx(trx, jobId, event, now);
    });
  }

  async tripGuard(jobId: string, candidateId: string, serve: string | null, event: NewEvent): Promise<JobRecord | null> {
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('jobs')
        .set({ guard_tripped_candidate_id: candidateId, served_candidate_id: serve ?? candidateId, updated_at: now })
        .where('id', '=', jobId).where('guard_tripped_candidate_id', 'is', null).where('deleted_at', 'is', null)
        // A job that ended before served_candidate_id existed serves its candidate without naming it.
        .where((eb) => eb.or([eb('served_candidate_id', '=', candidateId), eb('served_candidate_id', 'is', null)]))
        .where('status', 'in', ['succeeded', 'failed', 'cancelled'])
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return null;
      await appendEventTx(trx, jobId, event, now);
      return mustJob(trx, jobId);
    });
  }

  // ---- candidates ---------------------------------------------------------------------------------

  async listCandidates(jobId: string): Promise<CandidateRecord[]> {
    const rows = await this.db.selectFrom('candidates').selectAll().where('job_id', '=', jobId).orderBy('ordinal').execute();
    return rows.map(toCandidate);
  }

  async pageCandidates(jobId: string, opts: CandidateListOptions): Promise<Page<CandidateRecord>> {
    const keys = candidateKeys(opts.sort);
    // Keyed on the resolved columns, so `avg_reward:desc` and `objective:desc` share cursors.
    const listing = listingId(['candidates', jobId, opts.status ?? null, keys.map((k) => [k.col, k.dir])]);
    const after = decodeCursor(opts.cursor, listing, keys);
    let q = this.db.selectFrom('candidates').selectAll().where('job_id', '=', jobId);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (after) q = q.where(afterKeyset(keys, after));
    for (const k of keys) q = q.orderBy(k.col, k.dir);
    const rows = await q.limit(opts.limit + 1).execute();
    return toPage(rows, opts.limit, toCandidate, listing, keys);
  }

  async getCandidate(jobId: string, candidateId: string): Promise<CandidateRecord | null> {
    const r = await this.db.selectFrom('candidates').selectAll()
      .where('job_id', '=', jobId).where('id', '=', candidateId).executeTakeFirst();
    return r ? toCandidate(r) : null;
  }

  async findCandidatesById(candidateId: string, tenantId: string, limit: number): Promise<CandidateRecord[]> {
    // Scoped in the query: a limit applied across tenants let others' rows crowd out the caller's own.
    const rows = await this.db.selectFrom('candidates').innerJoin('jobs', 'jobs.id', 'candidates.job_id').selectAll('candidates')
      .where('candidates.id', '=', candidateId).where('jobs.tenant_id', '=', tenantId).where('jobs.deleted_at', 'is', null).limit(limit).execute();
    return rows.map(toCandidate);
  }

  async retireCandidate(jobId: string, candidateId: string, event: NewEvent): Promise<boolean> {
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      await this.lockJobs(trx, [jobId]);
      const res = await trx.updateTable('candidates').set({ status: 'retired', retired_at: now })
        .where('job_id', '=', jobId).where('id', '=', candidateId).where('status', '=', 'active').executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      await appendEventTx(trx, jobId, event, now);
      return true;
    });
  }

  missingRewardCounts(jobId: string, dispatchedBefore: string): Promise<Map<string, MissingCounts>> {
    return missingRewardCounts(this.db, jobId, dispatchedBefore);
  }

  onlineSeedCells(jobId: string): Promise<Map<string, SeedCell[]>> {
    return onlineSeedCells(this.db, jobId);
  }

  monitorSeedCells(jobId: string): Promise<Map<string, SeedCell[]>> {
    return monitorSeedCells(this.db, jobId);
  }

  flagMissingRewards(jobId: string, candidateId: string, event: NewEvent): Promise<boolean> {
    return flagMissingRewards(this.db, (trx, ids) => this.lockJobs(trx, ids), jobId, candidateId, event, this.now());
  }

  async addCandidate(jobId: string, c: NewCandidate, max: number, expectedCount?: number): Promise<CandidateRecord | null> {
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      // Under the job's row lock, so two instances cannot both take the last place.
      await this.lockJobs(trx, [jobId]);
      // The job may have ended since the caller read it (a cancel racing the request, on any
      // instance): an ended job takes no new candidates, so under the lock its status is read again.
      const job = await trx.selectFrom('jobs').select(['status', 'deleted_at']).where('id', '=', jobId).executeTakeFirst();
      if (!job || job.deleted_at !== null || FINAL_STATUSES.includes(job.status as JobStatus)) return null;
      const row = await trx.selectFrom('candidates').select([(eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('ordinal').as('m')])
        .where('job_id', '=', jobId).executeTakeFirst();
      if (Number(row?.n ?? 0) >= max) return null;
      if (expectedCount !== undefined && Number(row?.n ?? 0) !== expectedCount) return null;
      const values = candidateRow(jobId, c, Number(row?.m ?? -1) + 1, now);
      await trx.insertInto('candidates').values(values).execute();
      // A hand-added program sets only the modules it changes (instructions or demos): the event names them all.
      const changed = c.module !== null ? [c.module] : [...new Set([...Object.keys(c.instructions), ...Object.keys(c.demos ?? {})])];
      await appendEventTx(trx, jobId, {
        eventType: 'mipro.candidate.added',
        message: `${c.id} added by hand for module${changed.length > 1 ? 's' : ''} ${changed.join(', ') || '-'}`,
        data: { candidate_id: c.id, module: c.module, changed_modules: changed },
      }, now);
      return toCandidate(values);
    });
  }

  // ---- rollouts -----------------------------------------------------------------------------------

  insertRollout(r: NewRollout): Promise<boolean> {
    return this.hot.insertRollout(r, this.now());
  }

  claimRollout(r: NewRollout): Promise<RolloutAssignment | null> {
    return this.hot.claimRollout(r, this.now());
  }

  get rolloutIdsByClaim(): boolean {
    return this.hot.rolloutIdsByClaim;
  }

  getRollout(jobId: string, rolloutId: string): Promise<RolloutRecord | null> {
    return this.hot.getRollout(jobId, rolloutId);
  }

  insertScheduledRollout(r: NewRollout, event: NewEvent): Promise<boolean> {
    return insertScheduledRollout(this.db, (trx, ids) => this.lockJobs(trx, ids), r, event, this.now());
  }

  bootstrapSeedsIssued(jobId: string): Promise<number[]> {
    return bootstrapSeedsIssued(this.db, jobId);
  }

  async latestRolloutForCorrelation(jobId: string, correlationId: string): Promise<RolloutRecord | null> {
    const r = await this.db.selectFrom('rollouts').selectAll().where('job_id', '=', jobId)
      .where('correlation_id', '=', correlationId).orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
    return r ? toRollout(r) : null;
  }

  async tagRolloutCorrelation(jobId: string, rolloutId: string, correlationId: string): Promise<string | null | undefined> {
    // Only where none is set: a correlation id, once a reward may name it, never changes.
    await this.db.updateTable('rollouts').set({ correlation_id: correlationId })
      .where('job_id', '=', jobId).where('id', '=', rolloutId).where('correlation_id', 'is', null).execute();
    const row = await this.db.selectFrom('rollouts').select('correlation_id').where('job_id', '=', jobId).where('id', '=', rolloutId).executeTakeFirst();
    return row?.correlation_id;
  }

  completeRolloutCall(jobId: string, rolloutId: string, call: RolloutCall): Promise<void> {
    return this.hot.completeRolloutCall(jobId, rolloutId, call, this.now());
  }

  rolloutCalls(jobId: string, rolloutIds: readonly string[], only?: CallSelection): Promise<RolloutCallRecord[]> {
    return rolloutCalls(this.db, jobId, rolloutIds, only);
  }

  callModules(jobId: string, rolloutIds: readonly string[], only?: { answered?: boolean }): Promise<Map<string, (string | null)[]>> {
    return callModules(this.db, jobId, rolloutIds, only);
  }

  moduleCallOrder(jobId: string): Promise<string[]> {
    return moduleCallOrder(this.db, jobId);
  }

  forgetCallText(before: string): Promise<number> {
    return forgetCallText(this.db, this.dialect, before);
  }

  async rewardedRollouts(jobId: string, candidateId: string, opts: { order: 'worst' | 'best'; limit: number; module?: string }): Promise<RolloutRecord[]> {
    let q = this.db.selectFrom('rollouts').selectAll().where('job_id', '=', jobId)
      .where('candidate_id', '=', candidateId).where('reward', 'is not', null).where('split', 'in', TRAINING_SPLITS)
      // Retention cleared the text of older ones: they would take the places of examples that can be shown.
      .where('input_messages', 'is not', null);
    const module = opts.module;
    if (module !== undefined) {
      // In the query, not after it: a module that only some rollouts call (a fallback stage) had none
      // among the parent's few worst and best rollouts, and the proposer was shown no call of it.
      q = q.where((eb) => eb.exists(eb.selectFrom('rollout_calls as c').select('c.seq')
        .whereRef('c.job_id', '=', 'rollouts.job_id').whereRef('c.rollout_id', '=', 'rollouts.id')
        .where('c.module', '=', module).where('c.failed', '=', 0)));
    }
    // A rollout one of whose calls never got an answer (an upstream 5xx, timeout or reset on every
    // attempt) was scored for the outage: every other module's fine output stood among the worst
    // examples beside a reward no instruction caused. A failed call retried into an answer (a later
    // answered call of its module), or cut after some text (a stream the client stopped), does not count.
    q = q.where((eb) => eb.not(eb.exists(eb.selectFrom('rollout_calls as f').select('f.seq')
      .whereRef('f.job_id', '=', 'rollouts.job_id').whereRef('f.rollout_id', '=', 'rollouts.id')
      .where('f.failed', '=', 1).where((no) => no.or([no('f.output_text', 'is', null), no('f.output_text', '=', '')]))
      .where((later) => later.not(later.exists(later.selectFrom('rollout_calls as a').select('a.seq')
        .whereRef('a.job_id', '=', 'f.job_id').whereRef('a.rollout_id', '=', 'f.rollout_id').whereRef('a.seq', '>', 'f.seq')
        .where('a.failed', '=', 0).where(sql<boolean>`coalesce(a.module, '') = coalesce(f.module, '')`)))))));
    const rows = await q.orderBy('reward', opts.order === 'worst' ? 'asc' : 'desc').orderBy('updated_at', 'desc').limit(opts.limit).execute();
    return rows.map(toRollout);
  }

  demoSourceCalls(jobId: string, module: string, opts: { minReward: number; limit: number }): Promise<DemoSourceCall[]> {
    return demoSourceCalls(this.db, jobId, module, opts);
  }

  moduleMadeToolCalls(jobId: string, module: string): Promise<boolean> {
    return moduleMadeToolCalls(this.db, jobId, module);
  }

  rolloutFeedback(jobId: string, rolloutIds: readonly string[]): Promise<Map<string, RolloutFeedback>> {
    return rolloutFeedback(this.db, jobId, rolloutIds);
  }

  moduleBlame(jobId: string, opts: { below: number; limit: number }): Promise<Record<string, number>> {
    return moduleBlame(this.db, jobId, opts);
  }

  async sampleInputs(jobId: string, limit: number): Promise<unknown[][]> {
    const rows = await this.db.selectFrom('rollouts').select('input_messages').where('job_id', '=', jobId)
      .where('split', 'in', TRAINING_SPLITS).where('input_messages', 'is not', null)
      .orderBy((eb) => eb.case().when('split', '=', 'bootstrap').then(0).else(1).end()).orderBy('created_at')
      .limit(limit).execute();
    return rows.map((r) => JSON.parse(r.input_messages ?? '[]') as unknown[]);
  }

  async rolloutSplitCounts(jobId: string): Promise<Record<Split, number>> {
    const rows = await this.db.selectFrom('rollouts').select(['split', (eb) => eb.fn.countAll<number>().as('n')])
      .where('job_id', '=', jobId).groupBy('split').execute();
    const out: Record<Split, number> = { bootstrap: 0, online: 0, val: 0, monitor: 0 };
    for (const r of rows) out[r.split as Split] = Number(r.n);
    return out;
  }

  // ---- rewards ------------------------------------------------------------------------------------

  recordReward(r: NewReward, event: NewEvent): Promise<RewardOutcome> {
    return this.hot.recordReward(r, event, this.now());
  }

  async listRewards(jobId: string, f: { limit: number; cursor?: string | null }): Promise<Page<RewardRecord>> {
    const listing = listingId(['rewards', jobId]);
    const after = decodeCursor(f.cursor, listing, REWARD_KEYS);
    let q = this.db.selectFrom('rewards').selectAll().where('job_id', '=', jobId);
    if (after) q = q.where(afterKeyset(REWARD_KEYS, after));
    const rows = await q.orderBy('created_at').orderBy('rollout_id').limit(f.limit + 1).execute();
    return toPage(rows, f.limit, toReward, listing, REWARD_KEYS);
  }

  async valSeedsIssued(jobId: string): Promise<Map<string, number[]>> {
    const rows = await this.db.selectFrom('rollouts').select(['candidate_id', 'seed']).where('job_id', '=', jobId)
      .where('split', '=', 'val').where('seed', 'is not', null).orderBy('created_at').execute();
    const out = new Map<string, number[]>();
    for (const r of rows) out.set(r.candidate_id, [...(out.get(r.candidate_id) ?? []), Number(r.seed)]);
    return out;
  }

  async valRunTimes(jobId: string, candidateIds: readonly string[]): Promise<Map<string, Record<number, number>>> {
    const out = new Map<string, Record<number, number>>();
    if (candidateIds.length === 0) return out;
    // The (job, candidate, val seed) unique index of migration 0011 serves this: at most one row per pair.
    const rows = await this.db.selectFrom('rollouts').select(['candidate_id', 'seed', 'created_at']).where('job_id', '=', jobId)
      .where('split', '=', 'val').where('candidate_id', 'in', [...candidateIds]).where('seed', 'is not', null).execute();
    for (const r of rows) {
      const bySeed = out.get(r.candidate_id) ?? {};
      bySeed[Number(r.seed)] = Date.parse(r.created_at);
      out.set(r.candidate_id, bySeed);
    }
    return out;
  }

  async listSeedEvals(jobId: string, f: SeedEvalListOptions): Promise<Page<RewardRecord>> {
    const listing = listingId(['seed-evals', jobId, f.candidateId ?? null, f.split ?? null, f.seed ?? null, f.success ?? null]);
    const after = decodeCursor(f.cursor, listing, REWARD_KEYS);
    let q = this.db.selectFrom('rewards').selectAll().where('job_id', '=', jobId).where('seed', 'is not', null);
    if (f.candidateId) q = q.where('candidate_id', '=', f.candidateId);
    if (f.split) q = q.where('split', '=', f.split);
    if (f.seed !== undefined) q = q.where('seed', '=', f.seed);
    if (f.success !== undefined) q = q.where('reward', f.success ? '>' : '<=', 0);
    if (after) q = q.where(afterKeyset(REWARD_KEYS, after));
    const rows = await q.orderBy('created_at').orderBy('rollout_id').limit(f.limit + 1).execute();
    return toPage(rows, f.limit, toReward, listing, REWARD_KEYS);
  }

  // ---- proposals ----------------------------------------------------------------------------------

  async startProposal(p: ProposalStart): Promise<ProposalRecord | null> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        await this.lockJobs(trx, [p.jobId]);
        if (p.basis && !(await this.basisHolds(trx, p.jobId, p.basis))) return null;
        // A running proposal whose lease ran out belonged to an instance that died: release it.
        // Leases are kept on the database's clock (leaseClock.ts); SQLite's is the caller's.
        const leaseNow = this.dialect === 'postgres' ? new Date(await databaseNowMs(trx)).toISOString() : p.now;
        const leaseUntil = this.dialect === 'postgres' ? leaseEndFrom(Date.parse(leaseNow), p) : p.leaseUntil;
        await closeRunningProposals(trx, p.jobId, { leaseExpiredBefore: leaseNow }, p.now);
        const job = await trx.updateTable('jobs')
          .set((eb) => ({ proposal_seq: eb('proposal_seq', '+', 1), rewards_since_proposal: 0, updated_at: p.now }))
          .where('id', '=', p.jobId).returning('proposal_seq').executeTakeFirstOrThrow();
        const row = {
          job_id: p.jobId, id: p.id, seq: Number(job.proposal_seq), parent_id: p.parentId, module: p.module, tip: p.tip, status: 'running',
          prompt: JSON.stringify(p.prompt), response: null, error: null, candidate_ids: '[]', lease_until: leaseUntil,
          created_at: p.now, finished_at: null,
        };
        await trx.insertInto('proposals').values(row).execute();
        return toProposal(row);
      });
    } catch (err) {
      if (isUniqueViolation(err)) return null; // another instance holds the lease
      throw err;
    }
  }

  async leaseClockNow(): Promise<number> {
    return this.dialect === 'postgres' ? databaseNowMs(this.db) : this.clock.now();
  }

  async closeExpiredProposals(jobId?: string): Promise<ClosedProposal[]> {
    const now = this.now();
    const leaseNow = new Date(await this.leaseClockNow()).toISOString();
    // A read first: every instance sweeps, and a write transaction that found nothing would still
    // take SQLite's write lock. The partial index on running proposals serves it.
    let q = this.db.selectFrom('proposals').select('job_id').distinct().where('status', '=', 'running').where('lease_until', '<', leaseNow);
    if (jobId !== undefined) q = q.where('job_id', '=', jobId);
    const jobIds = (await q.execute()).map((r) => r.job_id).sort();
    const closed: ClosedProposal[] = [];
    for (const id of jobIds) {
      closed.push(...await this.db.transaction().execute(async (trx) => {
        await this.lockJobs(trx, [id]);
        return closeRunningProposals(trx, id, { leaseExpiredBefore: leaseNow }, now);
      }));
    }
    return closed;
  }

  /**
   * Under the job row's lock (the caller's): the job still runs (not paused or ended since), and no
   * proposal started and no candidate was added since `basis` was read.
   */
  private async basisHolds(trx: Transaction<Database>, jobId: string, basis: NonNullable<ProposalStart['basis']>): Promise<boolean> {
    const [job, count] = await Promise.all([
      trx.selectFrom('jobs').select(['proposal_seq', 'status']).where('id', '=', jobId).executeTakeFirst(),
      trx.selectFrom('candidates').select((eb) => eb.fn.countAll<string | number>().as('n')).where('job_id', '=', jobId).executeTakeFirst(),
    ]);
    return job?.status === 'running' && Number(job.proposal_seq) === basis.proposalSeq && Number(count?.n) === basis.candidateCount;
  }

  async setProposalPrompt(jobId: string, id: string, prompt: unknown[]): Promise<void> {
    await this.db.updateTable('proposals').set({ prompt: JSON.stringify(prompt) })
      .where('job_id', '=', jobId).where('id', '=', id).where('status', '=', 'running').execute();
  }

  async finishProposal(finish: ProposalFinish): Promise<CandidateRecord[]> {
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      await this.lockJobs(trx, [finish.jobId]);
      // Settled on the candidates as they are under the lock: a warm start committed while the
      // proposal ran (on any instance) is seen, so a proposal cannot repeat its text.
      const p = finish.settle === undefined ? finish : {
        ...finish,
        ...finish.settle((await trx.selectFrom('candidates').selectAll().where('job_id', '=', finish.jobId).orderBy('ordinal').execute()).map(toCandidate)),
      };
      const max = await trx.selectFrom('candidates').select([(eb) => eb.fn.max('ordinal').as('m'), (eb) => eb.fn.countAll<string | number>().as('n')])
        .where('job_id', '=', p.jobId).executeTakeFirst();
      const held = Number(max?.n ?? 0);
      // The runner counted its room before this lock: a warm start may have taken it since (on any
      // instance). The cap holds whoever writes last, so the proposal then adds nothing.
      if (p.maxCandidates !== undefined && p.candidates.length > 0 && held + p.candidates.length > p.maxCandidates) {
        const error = `the job holds ${held} candidates and online_proposer_max_candidates (${p.maxCandidates}) leaves no room for ${p.candidates.length} more (candidates were added while the proposal ran): no candidates added`;
        const failed = await trx.updateTable('proposals').set({ status: 'failed', response: p.response, error, candidate_ids: '[]', finished_at: now })
          .where('job_id', '=', p.jobId).where('id', '=', p.id).where('status', '=', 'running').returning('seq').executeTakeFirst();
        if (failed) await appendEventTx(trx, p.jobId, proposalFailedEvent(p.id, Number(failed.seq), error), now);
        return [];
      }
      const ended = await trx.updateTable('proposals').set({
        status: p.status, response: p.response, error: p.error, candidate_ids: JSON.stringify(p.candidates.map((c) => c.id)), finished_at: now,
      }).where('job_id', '=', p.jobId).where('id', '=', p.id).where('status', '=', 'running').executeTakeFirst();
      if (Number(ended.numUpdatedRows) === 0) return [];
      let ordinal = Number(max?.m ?? -1);
      for (const c of p.candidates) {
        ordinal += 1;
        await trx.insertInto('candidates').values(candidateRow(p.jobId, c, ordinal, now)).execute();
      }
      for (const e of p.events) await appendEventTx(trx, p.jobId, e, now);
      const rows = await trx.selectFrom('candidates').selectAll().where('job_id', '=', p.jobId)
        .where('proposal_id', '=', p.id).orderBy('ordinal').execute();
      return rows.map(toCandidate);
    });
  }

  async listProposals(jobId: string, limit: number): Promise<ProposalRecord[]> {
    return (await this.pageProposals(jobId, { limit })).items;
  }

  async pageProposals(jobId: string, f: { limit: number; cursor?: string | null }): Promise<Page<ProposalRecord>> {
    const listing = listingId(['proposals', jobId]);
    const after = decodeCursor(f.cursor, listing, PROPOSAL_KEYS);
    let q = this.db.selectFrom('proposals').selectAll().where('job_id', '=', jobId);
    if (after) q = q.where(afterKeyset(PROPOSAL_KEYS, after));
    const rows = await q.orderBy('seq', 'desc').limit(f.limit + 1).execute();
    return toPage(rows, f.limit, toProposal, listing, PROPOSAL_KEYS);
  }

  async proposalSummary(jobId: string): Promise<ProposalSummary> {
    const [latest, failed] = await Promise.all([
      this.db.selectFrom('proposals')
        .select(['job_id', 'id', 'seq', 'parent_id', 'module', 'tip', 'status', 'error', 'candidate_ids', 'lease_until', 'created_at', 'finished_at'])
        .where('job_id', '=', jobId).orderBy('seq', 'desc').limit(1).executeTakeFirst(),
      this.db.selectFrom('proposals').select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('job_id', '=', jobId).where('status', '=', 'failed').executeTakeFirst(),
    ]);
    if (!latest) return { failed: 0, latest: null };
    const { prompt: _prompt, response: _response, ...brief } = toProposal({ ...latest, prompt: '[]', response: null });
    return { failed: Number(failed?.n ?? 0), latest: brief };
  }

  async proposalTriesByModule(jobId: string, refusedPrefix: string): Promise<ProposalTries> {
    // A plain prefix (no LIKE wildcards in it), compared as text on both databases.
    const prefix = `${refusedPrefix.replace(/[%_\\]/g, '')}%`;
    const rows = await this.db.selectFrom('proposals')
      .select((eb) => ['module', 'status', eb.fn.countAll<string | number>().as('n'),
        eb.fn.sum<string | number>(eb.case().when('error', 'like', prefix).then(1).else(0).end()).as('refused')])
      .where('job_id', '=', jobId).where('status', 'in', ['failed', 'running']).where('module', 'is not', null)
      .groupBy(['module', 'status']).execute();
    const tries: ProposalTries = { failed: {}, refused: {}, running: {} };
    for (const r of rows) {
      const module = r.module ?? '';
      if (r.status === 'running') {
        tries.running[module] = Number(r.n);
        continue;
      }
      tries.failed[module] = Number(r.n);
      if (Number(r.refused) > 0) tries.refused[module] = Number(r.refused);
    }
    return tries;
  }

  // ---- events -------------------------------------------------------------------------------------

  async appendEvent(jobId: string, event: NewEvent): Promise<number> {
    const now = this.now();
    return this.db.transaction().execute((trx) => appendEventTx(trx, jobId, event, now));
  }

  async listEvents(jobId: string, sinceSeq: number, limit: number, eventType?: EventType): Promise<EventRecord[]> {
    let q = this.db.selectFrom('events').selectAll().where('job_id', '=', jobId).where('seq', '>', sinceSeq);
    if (eventType !== undefined) q = q.where('event_type', '=', eventType);
    const rows = await q.orderBy('seq').limit(limit).execute();
    return rows.map(toEvent);
  }

  async latestEvent(jobId: string, eventType: EventType): Promise<EventRecord | null> {
    const r = await this.db.selectFrom('events').selectAll().where('job_id', '=', jobId).where('event_type', '=', eventType)
      .orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return r ? toEvent(r) : null;
  }

  // ---- job views of many jobs (the jobs list) -----------------------------------------------------

  candidatesOfJobs(jobIds: readonly string[]): Promise<Map<string, CandidateRecord[]>> {
    return candidatesOfJobs(this.db, jobIds);
  }

  modulesOfJobs(jobIds: readonly string[]): Promise<Map<string, ModuleRecord[]>> {
    return modulesOfJobs(this.db, jobIds);
  }

  missingRewardCountsOfJobs(jobIds: readonly string[], dispatchedBefore: string): Promise<Map<string, Map<string, MissingCounts>>> {
    return missingRewardCountsOfJobs(this.db, jobIds, dispatchedBefore);
  }

  onlineSeedCellsOfJobs(jobIds: readonly string[]): Promise<Map<string, Map<string, SeedCell[]>>> {
    return onlineSeedCellsOfJobs(this.db, jobIds);
  }

  monitorSeedCellsOfJobs(jobIds: readonly string[]): Promise<Map<string, Map<string, SeedCell[]>>> {
    return monitorSeedCellsOfJobs(this.db, jobIds);
  }

  unmatchedPromptCountsOfJobs(jobIds: readonly string[]): Promise<Map<string, number>> {
    return unmatchedPromptCountsOfJobs(this.db, jobIds);
  }

  proposalSummariesOfJobs(jobIds: readonly string[]): Promise<Map<string, ProposalSummary>> {
    return proposalSummariesOfJobs(this.db, jobIds);
  }

  latestEventsOfJobs(jobIds: readonly string[], eventType: EventType): Promise<Map<string, EventRecord>> {
    return latestEventsOfJobs(this.db, jobIds, eventType);
  }

  valRewardsOfJobs(sides: ValSides): Promise<Map<string, RewardRecord[]>> {
    return valRewardsOfJobs(this.db, sides);
  }

  valRunTimesOfJobs(sides: ValSides): Promise<Map<string, Map<string, Record<number, number>>>> {
    return valRunTimesOfJobs(this.db, sides);
  }
}

/** /readyz's reason while PostgreSQL refuses writes (its `transaction_read_only` is on). */
class DatabaseReadOnly extends Error {
  constructor() {
    super('the database is read-only (a standby after a failover, or put read-only): it refuses every write');
  }
}
