import { type FieldProblem, JobGoneError, NotFoundError, ValidationError } from '../shared/errors.js';
import { randomHex } from '../shared/ids.js';
import type { OnlineEngine } from '../optimizer/runner/engine.js';
import type { JobRuntime } from '../optimizer/runner/jobRuntime.js';
import { RolloutStoredMeanwhile, type JobRecord, type RewardOutcome, type RolloutAssignment, type Split, type Store } from '../store/types.js';
import { isFinal } from './jobLifecycle.js';
import { inRange } from '../optimizer/core/rewardRange.js';
import { discoversModules } from '../optimizer/runner/moduleRouter.js';
import { foldUnknownModules } from './feedbackFold.js';

export interface RewardReport {
  rolloutId?: string | undefined;
  candidateId?: string | undefined;
  correlationId?: string | undefined;
  /** Already resolved to a number by `scoreFrom`. */
  reward: number;
  /** Where the reward was in the body, for the 422 of a reward outside the range. Default `reward_info.score`. */
  rewardPath?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  stop?: boolean | undefined;
  /** reward_info.feedback and feedback_by_module, already length-checked by the schema. */
  feedback?: string | undefined;
  feedbackByModule?: Record<string, string> | undefined;
}

/** Which rollout and candidate a reward is for (RewardService.resolve). */
export interface Resolved {
  rolloutId: string;
  candidateId: string;
  split: Split;
  seed: number | null;
  rolloutStored: boolean;
  /** NewReward.newRollout: the client's rollout id, not stored yet; the reward creates its record. */
  newRollout?: boolean;
}

export interface RewardResult {
  status: 'ok';
  rollout_id: string;
  candidate_id: string;
  reward: number;
  duplicate: boolean;
  /** Where the reward was stored: `monitor` when it arrived after the end (or past max_rollouts), so it was not counted. */
  split: string;
  job_status: string;
  /**
   * What was done to the body's feedback without refusing it (a discovering job's feedback_by_module
   * naming no module of it): present only when there is something to say.
   */
  warnings?: FieldProblem[];
}

/**
 * Largest reward magnitude accepted. Rewards are scores (usually in [0, 1]); one absurd value such as
 * 1e12 would swamp a candidate's mean for good, and a reward cannot be taken back.
 */
export const MAX_ABS_REWARD = 1e6;

/**
 * Rewards closer to 0 than this count as 0. Squared (variances, Welford's update) or divided, such a
 * value underflows a double: SQLite and JavaScript round the result to 0, but PostgreSQL raises
 * "value out of range: underflow" (SQLSTATE 22003), which failed the reward's write and every later
 * view of its job (a 500 on the jobs list). No statistic can tell 1e-200 from 0 anyway.
 */
export const MIN_ABS_REWARD = 1e-100;

/**
 * The score of a reward body: `reward_info.score`, else `outcome_reward` / `reward`, else inferred
 * from `metadata.expected == metadata.predicted` (1 or 0), as public clients send it.
 */
export function scoreFrom(info: Record<string, unknown> | undefined, metadata: Record<string, unknown> | undefined, path = 'reward_info.score'): number {
  const score = scoreOf(info, metadata, path);
  if ('problem' in score) throw new ValidationError(score.summary, [score.problem]);
  return score.value;
}

/**
 * The reward a body states (and the field it was in, so a reward outside the job's range is reported
 * where it was sent), or why it states none: the first of `score`, `outcome_reward`, `reward` that is
 * set, else 1 or 0 from `metadata.expected == metadata.predicted`. Pure; the route lists its problem
 * beside the body's other ones.
 */
export function scoreOf(info: Record<string, unknown> | undefined, metadata: Record<string, unknown> | undefined, path = 'reward_info.score'): { value: number; path: string } | { problem: FieldProblem; summary: string } {
  for (const [key, value] of Object.entries({ score: info?.score, outcome_reward: info?.outcome_reward, reward: info?.reward })) {
    if (value === undefined || value === null) continue;
    const at = path.replace(/score$/, key);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      // A JSON number too large for a double (1e400) parses as Infinity, which JSON.stringify writes
      // as `null`: the message then named a value the client never sent. Numbers are shown as numbers.
      const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
      return { summary: 'reward must be a finite number', problem: { path: at, message: `must be a finite number, got ${shown}` } };
    }
    if (Math.abs(value) > MAX_ABS_REWARD) {
      return { summary: 'reward is out of range', problem: { path: at, message: `must be between -${MAX_ABS_REWARD} and ${MAX_ABS_REWARD}, got ${value}` } };
    }
    return { value: Math.abs(value) < MIN_ABS_REWARD ? 0 : value, path: at };
  }
  if (metadata && 'expected' in metadata && 'predicted' in metadata) {
    return { value: normalize(metadata.expected) === normalize(metadata.predicted) ? 1 : 0, path };
  }
  return { summary: 'a reward needs a score', problem: { path, message: 'is required (or metadata.expected and metadata.predicted)' } };
}

/**
 * A label as compared: strings in Unicode's composed form (NFC), trimmed and lower-cased. A model
 * writes `café` composed while a label read from a file (macOS, some CSV exports) may hold `e` and a
 * combining accent: the same text, which compared code unit by code unit scored the right answer 0.
 */
const normalize = (v: unknown): string => (typeof v === 'string' ? v.normalize('NFC').trim().toLowerCase() : JSON.stringify(v));

/** One failed check of a reward body: its problems, and what the 422 says when it is the only one. */
export interface RewardCheck {
  summary: string;
  problems: FieldProblem[];
  /** How many problems there are, when more than `problems` lists. */
  count?: number;
}

/** What the job's own checks need from a body: the reward and where it was, the modules feedback names. */
export interface RewardFacts {
  reward?: number | undefined;
  rewardPath?: string | undefined;
  feedbackModules: readonly string[];
}

/**
 * One 422 for every failed check, so a body with several problems hears of all of them at once: a
 * resend that fixed only the first would meet the next. A lone check keeps its own message.
 */
export function rewardRefusal(checks: readonly RewardCheck[]): ValidationError {
  const count = checks.reduce((n, c) => n + (c.count ?? c.problems.length), 0);
  return new ValidationError(checks.length === 1 ? checks[0]!.summary : 'invalid request', checks.flatMap((c) => c.problems), count);
}

/**
 * A rollout record this instance just made for a client's id: its calls are routed to it without a
 * read, and the cache counts the dispatch the store counted.
 */
function noteNewRollout(rt: JobRuntime, rolloutId: string, assignment: RolloutAssignment): void {
  rt.remember(rolloutId, { candidateId: assignment.candidateId, split: assignment.split, seed: assignment.seed });
  const candidate = rt.candidates.find((c) => c.id === assignment.candidateId);
  if (candidate) candidate.dispatches += 1;
}

/**
 * Reward ingestion: resolve which rollout and candidate the reward belongs to, commit it (with the
 * candidate's statistics, idempotent by rollout id), then let the engine react. A 2xx means committed.
 */
export class RewardService {
  constructor(
    private readonly store: Store,
    private readonly engine: OnlineEngine,
    private readonly finish: (job: JobRecord, reason: string) => Promise<JobRecord>,
    private readonly onRecorded: (duplicate: boolean) => void = () => {},
  ) {}

  /**
   * `sessionId` is a system id or job id of the caller's tenant. The job is read through the engine's
   * short-lived cache: this is the hottest control route.
   */
  async report(tenantId: string, sessionId: string, r: RewardReport): Promise<RewardResult> {
    const rt = await this.engine.lookup(sessionId, (job) => job.tenantId === tenantId);
    if (!rt) throw new NotFoundError(`session ${sessionId} not found`);
    try {
      return await this.reportTo(rt, r);
    } catch (err) {
      // Deleted on another instance while this one held the job: its next request here is a 404 at once.
      if (err instanceof JobGoneError) this.engine.jobDeleted(rt.job.id);
      throw err;
    }
  }

  private async reportTo(rt: JobRuntime, r: RewardReport): Promise<RewardResult> {
    const job = rt.job;
    // Every check runs before anything is recorded, and all failures make one 422.
    const { checks, foldable } = await this.jobChecks(rt, { reward: r.reward, rewardPath: r.rewardPath, feedbackModules: Object.keys(r.feedbackByModule ?? {}) });
    const resolved = await this.resolve(job, r, rt).catch((err: unknown) => {
      // Beside other problems an unknown candidate_id is listed with them; an unknown rollout (a 404,
      // not a problem of the body's fields) is said once they are fixed.
      if (checks.length === 0 || !(err instanceof ValidationError || err instanceof NotFoundError)) throw err;
      if (err instanceof ValidationError) checks.push({ summary: err.message, problems: err.details });
      return undefined;
    });
    if (checks.length > 0 || resolved === undefined) throw rewardRefusal(checks);
    const folded = foldUnknownModules(r.feedback, r.feedbackByModule, foldable, rt.modules.map((m) => m.name));
    const stored: RewardReport = { ...r, feedback: folded.feedback, feedbackByModule: folded.feedbackByModule };
    let target: Resolved = this.stillNew(rt, resolved);
    const held = this.holdNewRollout(rt, target);
    const outcome = await this.record(job, stored, target).catch(async (err: unknown) => {
      held();
      // A call stored the rollout id after the lookup (another instance's): its record decides the candidate.
      if (!(err instanceof RolloutStoredMeanwhile)) throw err;
      target = await this.resolve(job, r, rt);
      return this.record(job, stored, target);
    });
    if (target.newRollout && !outcome.duplicate) noteNewRollout(rt, outcome.reward.rolloutId, outcome.reward);
    this.onRecorded(outcome.duplicate);
    await this.engine.afterReward(rt, outcome);
    let status = rt.job.status;
    if (r.stop && !isFinal(status)) status = (await this.finish(rt.job, 'stop requested by the client')).status;
    return {
      status: 'ok', rollout_id: outcome.reward.rolloutId, candidate_id: outcome.reward.candidateId,
      reward: outcome.reward.reward, duplicate: outcome.duplicate, split: outcome.reward.split, job_status: status,
      // A duplicate stored nothing of this body: the first reward's feedback stands.
      ...(folded.warnings.length > 0 && !outcome.duplicate ? { warnings: folded.warnings } : {}),
    };
  }

  /**
   * The legacy route's `"done"` without a reward: its rollout, as `resolve` finds it. A rollout id no
   * call has used yet, sent with `candidate_id`, gets its record as a reward naming it would (that
   * candidate, no seed, no calls, counted as dispatched; `monitor` after the end), so the candidate
   * the answer names is the one its later calls are served, and its reward finds it. It stays without
   * a reward, as any rollout whose client reported it done without one.
   */
  async reportDone(job: JobRecord, r: { rolloutId: string; candidateId?: string | undefined }): Promise<Resolved> {
    const rt = (await this.engine.lookup(job.id)) ?? undefined;
    const target = this.stillNew(rt, await this.resolve(job, r, rt));
    if (!target.newRollout) return target;
    const split = isFinal(job.status) ? 'monitor' as const : target.split;
    const rollout = { jobId: job.id, id: target.rolloutId, candidateId: target.candidateId, seed: null, split, correlationId: null, inputMessages: null };
    const held = this.holdNewRollout(rt, target);
    const inserted = await this.store.insertRollout(rollout).catch((err: unknown) => {
      held();
      throw err;
    });
    // A call stored the id meanwhile: its record decides, as for a reward.
    if (!inserted) {
      held();
      return this.resolve(job, { rolloutId: r.rolloutId }, rt);
    }
    if (rt) noteNewRollout(rt, rollout.id, rollout);
    return { ...target, split, rolloutStored: true, newRollout: false };
  }

  /**
   * A new rollout as resolved, unless a call of its id reserved it on this instance while the lookups
   * were awaited: then that call's candidate, which served it, takes the reward.
   */
  private stillNew(rt: JobRuntime | undefined, resolved: Resolved): Resolved {
    if (!resolved.newRollout) return resolved;
    const known = rt?.sticky.get(resolved.rolloutId);
    return known ? { rolloutId: resolved.rolloutId, ...known, rolloutStored: true } : resolved;
  }

  /**
   * Where a call routes by this instance's memory and a read (not insert-first: Store.rolloutIdsByClaim),
   * the new rollout's candidate is remembered before its record is written, with nothing awaited since
   * `stillNew`: a call of the id arriving while the write waits for its batch is served that candidate,
   * not a bandit choice whose own insert then loses to this record (one rollout served by one candidate
   * and credited to another). Insert-first stores need no hold: there a call's claim meets the record.
   * Returns the release, for a write that did not store the record. No job cached here: nothing to hold.
   */
  private holdNewRollout(rt: JobRuntime | undefined, target: Resolved): () => void {
    if (!rt || !target.newRollout || this.store.rolloutIdsByClaim) return () => {};
    // After the end the record is a monitoring one (record, reportDone), and so are the calls that follow it.
    const known = { candidateId: target.candidateId, split: isFinal(rt.job.status) ? 'monitor' as const : target.split, seed: target.seed };
    rt.remember(target.rolloutId, known);
    return () => rt.forget(target.rolloutId, known);
  }

  /** Commits the reward for its resolved rollout and candidate (RolloutStoredMeanwhile: resolve again). */
  private record(job: JobRecord, r: RewardReport, resolved: Resolved): Promise<RewardOutcome> {
    // After the end, rewards monitor what the job serves; they never enter the optimizer's statistics.
    // The store decides again under the job's lock (NewReward.maxRewards): this cache may be a second old.
    const target = isFinal(job.status) ? { ...resolved, split: 'monitor' as const } : resolved;
    return this.store.recordReward(
      { jobId: job.id, rolloutId: target.rolloutId, candidateId: target.candidateId, reward: r.reward, split: target.split, seed: target.seed, metadata: r.metadata ?? null,
        feedback: r.feedback ?? null, feedbackByModule: r.feedbackByModule && Object.keys(r.feedbackByModule).length > 0 ? r.feedbackByModule : null,
        rolloutStored: target.rolloutStored, newRollout: target.newRollout, maxRewards: job.config.mipro.max_rollouts ?? null,
        // The record the reward makes keeps its correlation id, so a reward naming only that id finds it.
        ...(target.newRollout ? { rolloutCorrelationId: r.correlationId ?? null } : {}) },
      {
        eventType: 'mipro.reward.received',
        message: `reward ${r.reward} for ${target.candidateId}`,
        data: { rollout_id: target.rolloutId, candidate_id: target.candidateId, reward: r.reward, split: target.split, seed: target.seed },
      },
    );
  }

  /**
   * The checks a body that failed its own schema still gets from its job, so its 422 lists these
   * problems too. None for an unknown session: the body's 422 is said first, as for any route.
   */
  async checksFor(tenantId: string, sessionId: string, facts: RewardFacts): Promise<RewardCheck[]> {
    const rt = await this.engine.lookup(sessionId, (job) => job.tenantId === tenantId);
    if (!rt) return [];
    return (await this.jobChecks(rt, facts)).checks;
  }

  /**
   * What only the job can check: the reward within its range, feedback naming its modules. `foldable`:
   * the names a discovering job does not know, whose feedback is kept in the overall text instead.
   */
  private async jobChecks(rt: JobRuntime, facts: RewardFacts): Promise<{ checks: RewardCheck[]; foldable: string[] }> {
    const checks: RewardCheck[] = [];
    // The job's intervals are valid only for rewards inside its range.
    const range = rt.job.config.mipro.reward_range;
    if (facts.reward !== undefined && !inRange(facts.reward, range)) {
      checks.push({ summary: `reward ${facts.reward} is outside the job's reward_range [${range[0]}, ${range[1]}]`, problems: [{
        path: facts.rewardPath ?? 'reward_info.score',
        message: `must be between ${range[0]} and ${range[1]} (mipro.reward_range), got ${facts.reward}`,
      }] });
    }
    const unknown = await this.unknownFeedbackModules(rt, facts.feedbackModules);
    if (unknown.length === 0) return { checks, foldable: [] };
    if (discoversModules(rt)) return { checks, foldable: unknown };
    const known = rt.modules.map((m) => m.name).join(', ') || '(none yet)';
    checks.push({
      summary: `unknown module "${unknown[0]}" in feedback_by_module`,
      problems: unknown.map((name) => ({ path: `reward_info.feedback_by_module.${name}`, message: `is not a module of this job (modules: ${known})` })),
    });
    return { checks, foldable: [] };
  }

  /**
   * The names in feedback_by_module that are no module of the job. For a job that declared its modules
   * a misspelt name would be stored and never read (module choice and the proposer look feedback up by
   * module), and the first reward of a rollout wins, so the corrected resend could not fix it: refused
   * before anything is recorded. A discovering job names its modules itself (m1, m2, ...), which the
   * app cannot know: its unknown names are folded into the overall feedback (feedbackFold.ts) rather
   * than losing the score. The modules are read again first, since another instance may have
   * discovered one since this one's last read.
   */
  private async unknownFeedbackModules(rt: JobRuntime, named: readonly string[]): Promise<string[]> {
    const unknown = () => named.filter((name) => !rt.modules.some((m) => m.name === name));
    if (unknown().length === 0) return [];
    await this.engine.refresh(rt);
    return unknown();
  }

  /**
   * Candidate: the rollout record, else `candidate_id`, else the latest rollout of `correlation_id`.
   * A rollout id no call has used yet, sent with `candidate_id`, gets its rollout record with the
   * reward (`newRollout`), so its later calls are served that candidate; a reward with only
   * `candidate_id` gets a made-up id and no record.
   */
  async resolve(
    job: JobRecord,
    r: Pick<RewardReport, 'rolloutId' | 'candidateId' | 'correlationId'>,
    rt?: JobRuntime,
  ): Promise<Resolved> {
    // A rollout this instance dispatched is known without a database read.
    const known = r.rolloutId ? rt?.sticky.get(r.rolloutId) : undefined;
    // Stored: a claim or a schedule remembers its rollout once committed; the one case remembered
    // before (dispatcher reserve) is an id the client learns only from the answer, which waits for
    // the insert, or a client's id on SQLite, which treats stored like unknown.
    if (r.rolloutId && known) return { rolloutId: r.rolloutId, ...known, rolloutStored: true };
    if (r.rolloutId) {
      const rollout = await this.store.getRollout(job.id, r.rolloutId);
      if (rollout) return { rolloutId: rollout.id, candidateId: rollout.candidateId, split: rollout.split, seed: rollout.seed, rolloutStored: true };
      if (!r.candidateId) {
        throw new NotFoundError(`unknown rollout_id ${r.rolloutId}: no proxied call used it (send candidate_id to report it anyway)`, [{ path: 'rollout_id', message: 'no rollout with this id' }]);
      }
    }
    if (r.candidateId) {
      const candidate = await this.store.getCandidate(job.id, r.candidateId);
      // The job deleted since it was read (another instance's DELETE, this cache not yet told): a 404 as
      // for the job, not a 422 on a candidate_id that was right.
      if (!candidate && !(await this.store.getJob(job.id))) throw new JobGoneError();
      if (!candidate) throw new ValidationError(`unknown candidate_id ${r.candidateId}`, [{ path: 'candidate_id', message: 'no candidate with this id in this session' }]);
      return { rolloutId: r.rolloutId ?? `rw_${randomHex(12)}`, candidateId: candidate.id, split: 'online', seed: null, rolloutStored: false, newRollout: r.rolloutId !== undefined };
    }
    if (r.correlationId) {
      const rollout = await this.store.latestRolloutForCorrelation(job.id, r.correlationId);
      if (!rollout) throw new NotFoundError(`no rollout with correlation_id ${r.correlationId}`, [{ path: 'correlation_id', message: 'no rollout with this correlation id' }]);
      return { rolloutId: rollout.id, candidateId: rollout.candidateId, split: rollout.split, seed: rollout.seed, rolloutStored: true };
    }
    throw new ValidationError('say which rollout the reward is for', [{ path: 'rollout_id', message: 'rollout_id, candidate_id or correlation_id is required' }]);
  }
}
