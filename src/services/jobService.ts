import type { Clock } from '../shared/clock.js';
import { ConflictError, type FieldProblem, JobGoneError, NotFoundError, ValidationError } from '../shared/errors.js';
import { BASELINE_ID, newJobId, newSystemId } from '../shared/ids.js';
import { championOf } from './jobSummary.js';
import type { MissingCounts } from '../optimizer/core/missingRewards.js';
import { missingCutoff } from '../optimizer/runner/missingRewards.js';
import { type JobConfig, declaredModules } from '../schemas/jobConfig.js';
import { type ConfigCheck, parseJobRequest } from '../schemas/jobRequest.js';
import { JOB_NAME_KEY } from '../schemas/jobMetadata.js';
import type { JobRecord, JobStatus, NewEvent, Page, Store } from '../store/types.js';
import { type JobAction, STATE_TO_ACTION, illegalTransition, isFinal, transitionFor } from './jobLifecycle.js';


/**
 * Tries of a move (promote, transition) whose job changed meanwhile, each reading it again: every
 * lost try is another move that won, so this many in a row means that many moves of one job at once.
 */
const MOVE_ATTEMPTS = 16;

/** Promote's answer for a candidate_id that names no candidate of the job (also when the body has other problems). */
export const UNKNOWN_CANDIDATE = 'no candidate with this id in this job';

export function jobName(job: JobRecord): string | null {
  const name = job.metadata[JOB_NAME_KEY];
  return typeof name === 'string' ? name : null;
}

export interface JobChangeListener {
  (job: JobRecord): void;
}

/**
 * Job lifecycle: creation (validation, ids, baseline), tenant-scoped reads, and the state machine.
 * Another tenant's job is indistinguishable from a missing one (404).
 */
export class JobService {
  private readonly listeners: JobChangeListener[] = [];
  private readonly deletionListeners: ((jobId: string) => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    /** The SSRF guard: a job may only name upstreams this server will call. */
    private readonly guardUpstream: ConfigCheck,
    /** The same guard on the addresses an inference_url's host name resolves to now. */
    private readonly checkResolved: (config: JobConfig) => Promise<FieldProblem[]> = async () => [],
  ) {}

  onChange(listener: JobChangeListener): void {
    this.listeners.push(listener);
  }

  async create(tenantId: string, body: unknown): Promise<JobRecord> {
    const parsed = parseJobRequest(body, this.guardUpstream);
    const refused = await this.checkResolved(parsed.config);
    if (refused.length > 0) throw new ValidationError('invalid job configuration', refused.map((p) => ({ ...p, path: parsed.pathInBody(p.path) })));
    return this.store.createJob({
      id: newJobId(),
      tenantId,
      systemId: newSystemId(),
      config: parsed.config,
      modules: declaredModules(parsed.config),
      correlationId: parsed.correlationId,
      metadata: parsed.metadata,
    });
  }

  async get(tenantId: string, jobId: string): Promise<JobRecord> {
    const job = await this.store.getJob(jobId);
    if (!job || job.tenantId !== tenantId) throw new NotFoundError(`job ${jobId} not found`);
    return job;
  }

  /** Sessions and systems are addressed by system id; job ids are accepted there too. */
  async getBySystemOrJobId(tenantId: string, id: string): Promise<JobRecord> {
    const job = (await this.store.getJobBySystemId(id)) ?? (id.startsWith('pl_') ? await this.store.getJob(id) : null);
    if (!job || job.tenantId !== tenantId) throw new NotFoundError(`no job or session ${id}`);
    return job;
  }

  list(tenantId: string, q: { limit: number; cursor?: string | null; status?: JobStatus }): Promise<Page<JobRecord>> {
    return this.store.listJobs(tenantId, q);
  }

  /**
   * DELETE: an ended job (succeeded, failed, cancelled) is marked deleted, which no read finds from
   * then on, and its rows are removed in the background (jobPurger.ts). A running or paused job is a
   * 409: it serves live traffic the optimizer is still learning from, and deleting that by mistake
   * is the costly error; cancel it first. The deletion listeners hear the id.
   */
  async delete(tenantId: string, jobId: string): Promise<{ id: string; deleted: true }> {
    const job = await this.get(tenantId, jobId);
    if (!isFinal(job.status)) {
      throw new ConflictError(`cannot delete the job: it is ${job.status}; cancel it first (POST .../jobs/${job.id}/cancel), then delete it`, [
        { path: 'status', message: `a ${job.status} job cannot be deleted` },
      ]);
    }
    // Ended is final, so only a concurrent delete (or one a moment ago) makes the mark find nothing.
    if (!(await this.store.markJobDeleted(job.id))) throw new NotFoundError(`job ${jobId} not found`);
    for (const l of this.deletionListeners) l(job.id);
    return { id: job.id, deleted: true };
  }

  onDelete(listener: (jobId: string) => void): void {
    this.deletionListeners.push(listener);
  }

  /** `{"state": "paused" | "running" | "cancelled"}` from PATCH bodies. */
  actionForState(state: unknown): JobAction {
    // Own keys only: `toString`, `constructor` or `__proto__` would otherwise find Object.prototype's
    // members, which are no action, and the transition then failed on them (a 500).
    const action = typeof state === 'string' && Object.hasOwn(STATE_TO_ACTION, state) ? STATE_TO_ACTION[state] : undefined;
    if (!action) {
      throw new ValidationError('invalid state', [{ path: 'state', message: 'must be one of: running, paused, cancelled' }]);
    }
    return action;
  }

  /** Missing-reward counts per candidate, as of now (the champion may not be a flagged candidate). */
  missingRewards(jobId: string): Promise<Map<string, MissingCounts>> {
    return this.store.missingRewardCounts(jobId, missingCutoff(this.clock.now()));
  }

  /** missingRewards of several jobs in one read (the jobs list), by job id. */
  missingRewardsOfJobs(jobIds: readonly string[]): Promise<Map<string, Map<string, MissingCounts>>> {
    return this.store.missingRewardCountsOfJobs(jobIds, missingCutoff(this.clock.now()));
  }

  /**
   * What a job serves once it ends, fixed at that moment: its champion when it succeeds, the baseline
   * when it is cancelled or fails. Undefined for moves that do not end it.
   */
  private async servedAfter(job: JobRecord, to: JobStatus): Promise<string | undefined> {
    if (to === 'cancelled' || to === 'failed') return BASELINE_ID;
    if (to !== 'succeeded') return undefined;
    const [candidates, missing, seedCells] = await Promise.all([this.store.listCandidates(job.id), this.missingRewards(job.id), this.store.onlineSeedCells(job.id)]);
    return championOf(job, candidates, missing, seedCells) ?? BASELINE_ID;
  }

  /**
   * Ends the job (succeeded) serving `candidateId`: the winner the user picked, or the baseline as a
   * rollback. A succeeded job may be promoted again; a cancelled or failed one is final.
   */
  async promote(job: JobRecord, candidateId: string): Promise<JobRecord> {
    const candidate = await this.store.getCandidate(job.id, candidateId);
    if (!candidate) throw new ValidationError(`unknown candidate_id ${candidateId}`, [{ path: 'candidate_id', message: UNKNOWN_CANDIDATE }]);
    // Ending a running or paused job is also a status change, told as every end is (mipro.job.status);
    // a succeeded job promoted again only changes what it serves (checked too: previous_served is true).
    return this.moveFromRead(job, async (current) => {
      if (current.status === 'cancelled' || current.status === 'failed') {
        throw new ConflictError(`cannot promote a candidate of job ${job.id}: it is ${current.status}, which is final`);
      }
      const previous = current.status;
      const events: NewEvent[] = [{
        eventType: 'mipro.candidate.promoted',
        message: `${candidateId} promoted: the job serves it from now on`,
        data: { candidate_id: candidateId, previous_status: previous, previous_served: current.servedCandidateId },
      }];
      if (previous !== 'succeeded') {
        events.push({
          eventType: 'mipro.job.status',
          message: `job succeeded: ${candidateId} promoted`,
          data: { status: 'succeeded', previous, at: new Date(this.clock.now()).toISOString(), served_candidate_id: candidateId, reason: `${candidateId} promoted` },
        });
      }
      const moved = await this.store.transitionJob(job.id, [previous], 'succeeded', events, candidateId, current.servedCandidateId);
      return moved && { moved };
    });
  }

  /** Moves the job as `action` says. */
  async transition(job: JobRecord, action: JobAction, reason?: string): Promise<JobRecord> {
    const { from, to } = transitionFor(action);
    return this.moveFromRead(job, async (current) => {
      if (current.status === to) return { unchanged: current };
      if (!from.includes(current.status)) throw illegalTransition(action, current.status);
      const served = await this.servedAfter(current, to);
      const moved = await this.store.transitionJob(job.id, [current.status], to, {
        eventType: 'mipro.job.status',
        message: `job ${to}${reason ? `: ${reason}` : ''}`,
        data: {
          status: to, previous: current.status, at: new Date(this.clock.now()).toISOString(),
          ...(served !== undefined ? { served_candidate_id: served } : {}), ...(reason ? { reason } : {}),
        },
      }, served);
      return moved && { moved };
    });
  }

  /**
   * A move by compare-and-set from the state the job was read in (`job` first, a cache's copy maybe),
   * so its events say what the job really was: `attempt` tries from that state (null: another move won
   * meanwhile, and the job is read again). The listeners hear a move that happened.
   */
  private async moveFromRead(job: JobRecord, attempt: (current: JobRecord) => Promise<{ moved: JobRecord } | { unchanged: JobRecord } | null>): Promise<JobRecord> {
    let current = job;
    for (let i = 0; i < MOVE_ATTEMPTS; i++) {
      if (i > 0) {
        const read = await this.store.getJob(job.id);
        // Deleted since it was read (DELETE on any instance): unknown now, as for every other route.
        if (!read) throw new JobGoneError(`job ${job.id} not found`);
        current = read;
      }
      const result = await attempt(current);
      if (result === null) continue;
      if ('unchanged' in result) return result.unchanged;
      for (const l of this.listeners) l(result.moved);
      return result.moved;
    }
    throw new ConflictError(`job ${job.id} changed concurrently ${MOVE_ATTEMPTS} times; retry`);
  }
}
