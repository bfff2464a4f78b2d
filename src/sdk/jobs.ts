import { JobWaitTimeoutError } from './errors.js';
import { HttpClient, seg } from './http.js';
import { type ClientOptions, resolveClientOptions } from './options.js';
import { paginate } from './pagination.js';
import { requestSignal } from './requestSignal.js';
import { sleep } from './retry.js';
import { MiproOnlineSession, rolloutPath } from './session.js';
import {
  type ExportFormat, type Job, type JobDeleted, JobDeletedSchema, JobPageSchema, JobSchema, type Page, type ProgramExport, ProgramExportSchema, type RolloutRecord,
  RolloutRecordSchema, isTerminalStatus,
} from './wire.js';

const JOBS = '/api/policy-optimization/online/jobs';

export interface CallOptions { signal?: AbortSignal }

export interface JobListOptions extends CallOptions {
  status?: string;
  /** Page size (the server allows 1..1000, default 50). */
  limit?: number;
  cursor?: string;
}

export interface WaitOptions extends CallOptions {
  /** Give up after this long with a JobWaitTimeoutError (default 10 minutes), also in the middle of a request. */
  timeoutMs?: number;
  /** Time between looks (default 2 000 ms). */
  pollMs?: number;
  /** Called with the job after every look, the final one included. */
  onUpdate?: (job: Job) => void | Promise<void>;
}

export type JobState = 'running' | 'paused' | 'cancelled';

/** The jobs API (`/api/policy-optimization/online/jobs`): create, read, list, steer and wait. */
export class MiproJobsClient {
  readonly http: HttpClient;

  constructor(options: ClientOptions | HttpClient = {}) {
    this.http = options instanceof HttpClient ? options : new HttpClient(resolveClientOptions(options));
  }

  /**
   * Creates a job from a body in any form the server accepts: `{policy_optimization: {...}}`,
   * `{prompt_learning: {...}}` or `{algorithm: "mipro", config_body: {...}}`. Never retried after the
   * server may have seen it: a second POST would create a second job.
   */
  create(body: Record<string, unknown>, opts: CallOptions = {}): Promise<Job> {
    return this.http.request({ method: 'POST', path: JOBS, body, schema: JobSchema, ...opts });
  }

  get(jobId: string, opts: CallOptions = {}): Promise<Job> {
    return this.http.request({ method: 'GET', path: `${JOBS}/${seg(jobId)}`, schema: JobSchema, ...opts });
  }

  /** One page of the tenant's jobs, newest first. */
  list(opts: JobListOptions = {}): Promise<Page<Job>> {
    const { status, limit, cursor, ...call } = opts;
    return this.http.request({ method: 'GET', path: JOBS, query: { status, limit, cursor }, schema: JobPageSchema, ...call });
  }

  /** Every job, page after page (`for await (const job of jobs.iterate())`). */
  iterate(opts: Omit<JobListOptions, 'cursor'> = {}): AsyncGenerator<Job, void, undefined> {
    return paginate((cursor) => this.list({ ...opts, ...(cursor ? { cursor } : {}) }));
  }

  pause(jobId: string, opts: CallOptions = {}): Promise<Job> {
    return this.action(jobId, 'pause', opts);
  }

  resume(jobId: string, opts: CallOptions = {}): Promise<Job> {
    return this.action(jobId, 'resume', opts);
  }

  /** Final: a cancelled job never runs again. */
  cancel(jobId: string, opts: CallOptions = {}): Promise<Job> {
    return this.action(jobId, 'cancel', opts);
  }

  /**
   * Deletes an ended job (succeeded, failed or cancelled) with everything recorded for it: its proxy
   * URL stops answering (404), also when it served a promoted program. A running or paused job is a
   * ConflictError (cancel it first); an unknown or already deleted job a NotFoundError. Not retried
   * once the server may have seen it: a repeat of a delete that succeeded answers 404.
   */
  delete(jobId: string, opts: CallOptions = {}): Promise<JobDeleted> {
    return this.http.request({ method: 'DELETE', path: `${JOBS}/${seg(jobId)}`, schema: JobDeletedSchema, ...opts });
  }

  /** `PATCH {state}`, the form newer clients use. */
  setState(jobId: string, state: JobState, opts: CallOptions = {}): Promise<Job> {
    return this.http.request({ method: 'PATCH', path: `${JOBS}/${seg(jobId)}`, body: { state }, schema: JobSchema, ...opts });
  }

  /**
   * Ends the job (succeeded) serving `candidateId` from now on: the winner you picked, or `baseline`
   * to roll back. A succeeded job can be promoted again; a cancelled or failed one cannot.
   */
  promote(jobId: string, candidateId: string, opts: CallOptions = {}): Promise<Job> {
    return this.http.request({ method: 'POST', path: `${JOBS}/${seg(jobId)}/promote`, body: { candidate_id: candidateId }, schema: JobSchema, ...opts });
  }

  /** A program exactly as the proxy renders it: what the job serves (or its champion), or `candidateId`. */
  export(jobId: string, opts: { format?: ExportFormat; candidateId?: string } & CallOptions = {}): Promise<ProgramExport> {
    const { format, candidateId, ...call } = opts;
    return this.http.request({
      method: 'GET', path: `${JOBS}/${seg(jobId)}/export`, query: { format, candidate_id: candidateId }, schema: ProgramExportSchema, ...call,
    });
  }

  /** One rollout of a job (by its system id or job id) with every LLM call it made, each with its module. */
  getRollout(systemId: string, rolloutId: string, opts: CallOptions = {}): Promise<RolloutRecord> {
    return this.http.request({ method: 'GET', path: rolloutPath(systemId, rolloutId), schema: RolloutRecordSchema, ...opts });
  }

  /** A session handle for the job (proxy URL, rewards, candidates, events). */
  async session(jobId: string, opts: CallOptions = {}): Promise<MiproOnlineSession> {
    return MiproOnlineSession.fromJob(await this.get(jobId, opts), this.http);
  }

  /**
   * Polls until the job is succeeded, failed or cancelled, and returns it (a failed job is returned,
   * not thrown: the caller decides). Throws JobWaitTimeoutError when `timeoutMs` passes first, also
   * in the middle of a look: a slow or unreachable server does not stretch the wait by the request
   * timeout and its retries.
   */
  async waitForCompletion(jobId: string, opts: WaitOptions = {}): Promise<Job> {
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const pollMs = Math.max(1, opts.pollMs ?? 2_000);
    const deadlineAt = Date.now() + timeoutMs;
    // The deadline and the caller's signal as one request's are (requestSignal: Infinity is no limit;
    // past what a timer holds, ~24.8 days, the deadline is checked between looks only).
    const wait = requestSignal(timeoutMs, opts.signal);
    const signal = wait.signal;
    let last: Job | undefined;
    const timedOut = () => new JobWaitTimeoutError(
      last ? `job ${jobId} is still ${last.status} after ${timeoutMs} ms` : `job ${jobId}: the server did not answer within ${timeoutMs} ms`,
      { jobId, lastStatus: last?.status },
    );
    try {
      for (;;) {
        last = await this.get(jobId, { signal });
        await opts.onUpdate?.(last);
        if (isTerminalStatus(last.status)) return last;
        if (wait.timedOut || Date.now() >= deadlineAt) throw timedOut();
        await sleep(Math.min(pollMs, Math.max(0, deadlineAt - Date.now())), signal);
      }
    } catch (err) {
      // The caller's own abort keeps its reason; the deadline's is this wait's typed timeout.
      if (wait.timedOut && err === signal.reason && !opts.signal?.aborted) throw timedOut();
      throw err;
    } finally {
      wait.dispose();
    }
  }

  private action(jobId: string, action: 'pause' | 'resume' | 'cancel', opts: CallOptions): Promise<Job> {
    return this.http.request({ method: 'POST', path: `${JOBS}/${seg(jobId)}/${action}`, schema: JobSchema, ...opts });
  }
}
