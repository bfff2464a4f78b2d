import type { z } from 'zod';
import { type JsonObject, loadConfigFile } from './configFile.js';
import { MiproxError } from './errors.js';
import { HttpClient, type QueryValue, seg } from './http.js';
import { type ClientOptions, resolveClientOptions } from './options.js';
import { paginate } from './pagination.js';
import { rewardInfoOf } from './rewardFeedback.js';
import { type WatchEventsOptions, watchEvents } from './watchEvents.js';
import {
  type Candidate, CandidatePageSchema, CandidateSchema, EventListSchema, type Job, JobSchema, type Page, type PromptUrls,
  PromptUrlsSchema, type Proposal, ProposalPageSchema, type RewardRecord, RewardPageSchema, type RewardResult,
  RewardResultSchema, type Rollout, type RolloutRecord, RolloutRecordSchema, RolloutSchema, type SeedEval, SeedEvalPageSchema,
  type SessionEvent, type SessionStatus, type ExportFormat, type ExportedDemo, type ProgramExport, ProgramExportSchema,
} from './wire.js';

export interface CallOptions { signal?: AbortSignal }

export interface SessionCreateOptions extends ClientOptions, CallOptions {
  /** The job config (what `config_body` holds: `{policy_optimization: {...}}` or `{prompt_learning: {...}}`). */
  config?: JsonObject;
  /** Or a TOML/JSON file with that config, read on this machine. */
  configPath?: string;
  /** Dotted keys applied by the server, e.g. `{"prompt_learning.policy.model": "gpt-4.1-mini"}`. */
  overrides?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  correlationId?: string;
  /** A label shown in CLI tables and the dashboard. */
  name?: string;
  /** Route version; the server serves both (default v1). */
  apiVersion?: 'v1' | 'v2';
}

export interface SessionConnectOptions extends ClientOptions, CallOptions {
  apiVersion?: 'v1' | 'v2';
}

export interface RewardInput extends CallOptions {
  /** `{score}`; without a score the server infers one from `metadata.expected == metadata.predicted`. */
  rewardInfo?: { score?: number; feedback?: string; feedback_by_module?: Record<string, string> } & Record<string, unknown>;
  /**
   * What went wrong or right, in words (at most 4000 characters): the optimizer's proposer reads it
   * beside this rollout. Sent as `reward_info.feedback`.
   */
  feedback?: string;
  /**
   * The same per module (`reward_info.feedback_by_module`). Each of the two may also be given inside
   * `rewardInfo`; both ways at once with different values is a ValidationError and nothing is sent.
   */
  feedbackByModule?: Record<string, string>;
  rolloutId?: string;
  candidateId?: string;
  correlationId?: string;
  metadata?: Record<string, unknown>;
  artifact?: unknown;
  traceRef?: string;
  /**
   * Finish the job (status `succeeded`) after recording this reward. At once: a reward still to come
   * for an earlier rollout is then stored as `monitor` and counts nowhere, so send it with the last
   * reward expected (late ones included), not with the last rollout's.
   */
  stop?: boolean;
}

export interface CandidateListOptions extends CallOptions {
  limit?: number;
  cursor?: string;
  status?: string;
  /** e.g. `avg_reward:desc`, `created_at:asc`; without a direction a score sorts best first, `created_at` oldest first. */
  sort?: string;
}

export interface SeedEvalFilters extends CallOptions {
  candidateId?: string;
  split?: string;
  seed?: number;
  success?: boolean;
  limit?: number;
  cursor?: string;
}

const withCursor = <T extends object>(opts: T, cursor: string | undefined): T & { cursor?: string } =>
  cursor ? { ...opts, cursor } : { ...opts };

/**
 * A handle on one online MIPRO session (a job; `sessionId` = its system id). Send the app's LLM
 * calls to `proxyUrl + "/" + rolloutId` (an OpenAI base URL), then report each rollout's reward.
 */
export class MiproOnlineSession {
  readonly sessionId: string;
  readonly jobId: string;
  readonly proxyUrl: string;
  readonly onlineUrl: string;
  readonly chatCompletionsUrl: string;
  readonly correlationId: string | null;
  readonly http: HttpClient;
  private readonly base: string;

  private constructor(job: Job, http: HttpClient, apiVersion: 'v1' | 'v2') {
    this.sessionId = job.session_id;
    this.jobId = job.job_id;
    this.proxyUrl = job.proxy_url;
    this.onlineUrl = job.online_url;
    this.chatCompletionsUrl = job.chat_completions_url;
    this.correlationId = job.correlation_id;
    this.http = http;
    this.base = `/api/${apiVersion}/online/sessions/${seg(job.session_id)}`;
  }

  /** Starts a new session (a new job) from `config` or `configPath`. */
  static async create(opts: SessionCreateOptions): Promise<MiproOnlineSession> {
    if ((opts.config === undefined) === (opts.configPath === undefined)) {
      throw new MiproxError('MiproOnlineSession.create needs exactly one of config or configPath', { code: 'invalid_options' });
    }
    const config = opts.config ?? (await loadConfigFile(opts.configPath ?? ''));
    const http = new HttpClient(resolveClientOptions(opts));
    const version = opts.apiVersion ?? 'v1';
    const body = {
      config_body: config,
      ...(opts.overrides ? { overrides: opts.overrides } : {}),
      ...(opts.metadata ? { metadata: opts.metadata } : {}),
      ...(opts.correlationId ? { correlation_id: opts.correlationId } : {}),
      ...(opts.name ? { name: opts.name } : {}),
    };
    const call = opts.signal ? { signal: opts.signal } : {};
    const job = await http.request({ method: 'POST', path: `/api/${version}/online/sessions`, body, schema: JobSchema, ...call });
    return new MiproOnlineSession(job, http, version);
  }

  /** Attaches to an existing session by id (checks it exists). */
  static async connect(sessionId: string, opts: SessionConnectOptions = {}): Promise<MiproOnlineSession> {
    const http = new HttpClient(resolveClientOptions(opts));
    const version = opts.apiVersion ?? 'v1';
    const call = opts.signal ? { signal: opts.signal } : {};
    const job = await http.request({ method: 'GET', path: `/api/${version}/online/sessions/${seg(sessionId)}`, schema: JobSchema, ...call });
    return new MiproOnlineSession(job, http, version);
  }

  /** A handle from a job already read (e.g. from MiproJobsClient.get), without a request. */
  static fromJob(job: Job, http: HttpClient, apiVersion: 'v1' | 'v2' = 'v1'): MiproOnlineSession {
    return new MiproOnlineSession(job, http, apiVersion);
  }

  /**
   * The OpenAI base URL for one rollout: every call with it gets the same candidate. `v1` cannot be a
   * rollout id: `{proxy}/v1/chat/completions` is the proxy's `/v1` prefix (a call without a rollout id).
   * Nor can `.` or `..`: every URL parser resolves them away (`{proxy}/./chat/completions` is
   * `{proxy}/chat/completions`, a call under a rollout id the server makes; `..` leaves the job's URL).
   * Nor can the empty string: `{proxy}/` is the proxy URL itself to the clients, so each call of the
   * rollout would get a rollout id (and a candidate) of its own.
   */
  rolloutBaseUrl(rolloutId: string): string {
    if (rolloutId === '') throw new TypeError('rolloutId is empty: {proxy}/ is the proxy URL without a rollout, where every call gets a rollout id of its own; give each rollout a non-empty id');
    if (rolloutId === 'v1') throw new TypeError('rolloutId "v1" is the proxy\'s /v1 prefix, not a rollout id: use another id');
    if (rolloutId === '.' || rolloutId === '..') throw new TypeError(`rolloutId "${rolloutId}" is a relative path segment that URLs resolve away, not a rollout id: use another id`);
    return `${this.proxyUrl}/${seg(rolloutId)}`;
  }

  getPromptUrls(correlationId?: string, opts: CallOptions = {}): Promise<PromptUrls> {
    return this.get('/prompt', PromptUrlsSchema, { correlation_id: correlationId }, opts);
  }

  /**
   * Reports a rollout's reward. With a `rolloutId` the server counts it once however often it is sent
   * (`duplicate: true` on repeats), which is also why only then it is retried on 5xx and timeouts.
   */
  async updateReward(input: RewardInput): Promise<RewardResult> {
    const body = {
      reward_info: rewardInfoOf(input),
      ...(input.rolloutId !== undefined ? { rollout_id: input.rolloutId } : {}),
      ...(input.candidateId !== undefined ? { candidate_id: input.candidateId } : {}),
      ...(input.correlationId !== undefined ? { correlation_id: input.correlationId } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      ...(input.artifact !== undefined ? { artifact: input.artifact } : {}),
      ...(input.traceRef !== undefined ? { trace_ref: input.traceRef } : {}),
      ...(input.stop !== undefined ? { stop: input.stop } : {}),
    };
    return this.http.request({
      method: 'POST', path: `${this.base}/reward`, body, schema: RewardResultSchema,
      idempotent: input.rolloutId !== undefined, ...signalOf(input),
    });
  }

  status(opts: CallOptions = {}): Promise<SessionStatus> {
    return this.get('', JobSchema, {}, opts);
  }

  /** Stops new proposals; the proxy keeps serving the best known candidate. */
  pause(opts: CallOptions = {}): Promise<SessionStatus> {
    return this.post('/pause', JobSchema, undefined, opts);
  }

  resume(opts: CallOptions = {}): Promise<SessionStatus> {
    return this.post('/resume', JobSchema, undefined, opts);
  }

  /** Final. */
  cancel(opts: CallOptions = {}): Promise<SessionStatus> {
    return this.post('/cancel', JobSchema, undefined, opts);
  }

  /**
   * The seed scheduler: which seed (and split) to run next, with a fresh rollout id. `split: 'val'`
   * asks only for confirmation work (champion vs control on held-out seeds); a ConflictError says
   * none is left. After the job ends it hands out `split: 'monitor'` rollouts of what the job serves.
   * `correlationId` tags the rollout (a reward may then name it); without one, the first
   * `x-mipro-correlation-id` its calls send tags it, and its calls may not send another.
   */
  nextRollout(opts: CallOptions & { split?: 'val'; correlationId?: string } = {}): Promise<Rollout> {
    const body = { ...(opts.split ? { split: opts.split } : {}), ...(opts.correlationId !== undefined ? { correlation_id: opts.correlationId } : {}) };
    return this.post('/rollouts', RolloutSchema, body, opts);
  }

  listCandidates(opts: CandidateListOptions = {}): Promise<Page<Candidate>> {
    const { limit, cursor, status, sort } = opts;
    return this.http.request({
      method: 'GET', path: `/api/v1/systems/${seg(this.sessionId)}/candidates`,
      query: { limit, cursor, status, sort }, schema: CandidatePageSchema, ...signalOf(opts),
    });
  }

  /** Every candidate, page after page. */
  iterateCandidates(opts: Omit<CandidateListOptions, 'cursor'> = {}): AsyncGenerator<Candidate, void, undefined> {
    return paginate((cursor) => this.listCandidates(withCursor(opts, cursor)));
  }

  getCandidate(candidateId: string, opts: CallOptions = {}): Promise<Candidate> {
    // The baseline id is the same in every job, so the system id tells the server which one.
    return this.http.request({
      method: 'GET', path: `/api/candidates/${seg(candidateId)}`, query: { system_id: this.sessionId },
      schema: CandidateSchema, ...signalOf(opts),
    });
  }

  listSeedEvals(filters: SeedEvalFilters = {}): Promise<Page<SeedEval>> {
    const query: Record<string, QueryValue> = {
      candidate_id: filters.candidateId, split: filters.split, seed: filters.seed, success: filters.success,
      limit: filters.limit, cursor: filters.cursor,
    };
    return this.http.request({
      method: 'GET', path: `/api/systems/${seg(this.sessionId)}/seed-evals`, query, schema: SeedEvalPageSchema, ...signalOf(filters),
    });
  }

  /** One rollout with every LLM call it made: the module of each call, its input and its output. */
  getRollout(rolloutId: string, opts: CallOptions = {}): Promise<RolloutRecord> {
    return this.http.request({ method: 'GET', path: rolloutPath(this.sessionId, rolloutId), schema: RolloutRecordSchema, ...signalOf(opts) });
  }

  iterateSeedEvals(filters: Omit<SeedEvalFilters, 'cursor'> = {}): AsyncGenerator<SeedEval, void, undefined> {
    return paginate((cursor) => this.listSeedEvals(withCursor(filters, cursor)));
  }

  /** Events after `sinceSeq`, oldest first; only those of `eventType` when given (e.g. `'mipro.proposal.failed'`). */
  async events(opts: { sinceSeq?: number; limit?: number; eventType?: string } & CallOptions = {}): Promise<SessionEvent[]> {
    const res = await this.get('/events', EventListSchema, { since_seq: opts.sinceSeq ?? 0, limit: opts.limit, event_type: opts.eventType }, opts);
    return res.events;
  }

  /** Yields events as they happen (polling), until the job is final or `signal` aborts. */
  watchEvents(opts: WatchEventsOptions = {}): AsyncGenerator<SessionEvent, void, undefined> {
    return watchEvents({ events: (o) => this.events(o), status: (o) => this.status(o) }, opts);
  }

  /** The optimized program exactly as the proxy renders it (what the job serves, or its champion; or `candidateId`). */
  exportPrompt(opts: { format?: ExportFormat; candidateId?: string } & CallOptions = {}): Promise<ProgramExport> {
    return this.get('/export', ProgramExportSchema, { format: opts.format, candidate_id: opts.candidateId }, opts);
  }

  /**
   * Warm start: a prompt you already have for one module (`{module, instruction}`; `module` may be left
   * out in a job of one module), or a whole program (`{instructions: {module: text}}`), each with
   * optional `demos: {module: [{input, output}]}` (plus `variables: {placeholder: value}` on each demo
   * of a module whose template has placeholders: required there), becomes a candidate that gets
   * traffic like a proposal's child. Another job's exported program with its demos:
   * `addCandidate(exportedProgram(await other.exportPrompt(), await this.status()))` (the status
   * places each module's text on this job's module of the same prompt). A bad text or demo is a
   * ValidationError (422) naming its field.
   */
  addCandidate(
    input: ({ module?: string; instruction: string } | { instructions: Record<string, string> } | Record<never, never>) & { demos?: Record<string, ExportedDemo[]> },
    opts: CallOptions = {},
  ): Promise<Candidate> {
    return this.http.request({ method: 'POST', path: `/api/v1/systems/${seg(this.sessionId)}/candidates`, body: input, schema: CandidateSchema, ...signalOf(opts) });
  }

  /** Ends the job serving `candidateId` (`baseline` rolls back). */
  promote(candidateId: string, opts: CallOptions = {}): Promise<SessionStatus> {
    return this.http.request({ method: 'POST', path: `${this.base}/promote`, body: { candidate_id: candidateId }, schema: JobSchema, ...signalOf(opts) });
  }

  /**
   * The job's newest proposals: the server's default page (its newest 50) unless `limit` asks for
   * more (at most 1000). Older ones: `listProposals` with the page's cursor, or `iterateProposals`.
   */
  async proposals(opts: { limit?: number } & CallOptions = {}): Promise<Proposal[]> {
    return (await this.listProposals(opts)).items;
  }

  /** One page of the job's proposals, newest first. */
  listProposals(opts: { limit?: number; cursor?: string } & CallOptions = {}): Promise<Page<Proposal>> {
    return this.get('/proposals', ProposalPageSchema, { limit: opts.limit, cursor: opts.cursor }, opts);
  }

  /** Every proposal of the job, newest first, page after page. */
  iterateProposals(opts: { limit?: number } & CallOptions = {}): AsyncGenerator<Proposal, void, undefined> {
    return paginate((cursor) => this.listProposals(withCursor(opts, cursor)));
  }

  rewards(opts: { limit?: number; cursor?: string } & CallOptions = {}): Promise<Page<RewardRecord>> {
    return this.get('/rewards', RewardPageSchema, { limit: opts.limit, cursor: opts.cursor }, opts);
  }

  iterateRewards(opts: { limit?: number } & CallOptions = {}): AsyncGenerator<RewardRecord, void, undefined> {
    return paginate((cursor) => this.rewards(withCursor(opts, cursor)));
  }

  private get<S extends z.ZodType>(path: string, schema: S, query: Record<string, QueryValue>, opts: CallOptions) {
    return this.http.request({ method: 'GET', path: `${this.base}${path}`, query, schema, ...signalOf(opts) });
  }

  private post<S extends z.ZodType>(path: string, schema: S, body: unknown, opts: CallOptions) {
    return this.http.request({ method: 'POST', path: `${this.base}${path}`, ...(body === undefined ? {} : { body }), schema, ...signalOf(opts) });
  }
}

/** The rollout record route; it takes a system (session) id or a job id. */
export function rolloutPath(systemId: string, rolloutId: string): string {
  return `/api/systems/${seg(systemId)}/rollouts/${seg(rolloutId)}`;
}

function signalOf(opts: CallOptions): CallOptions {
  return opts.signal ? { signal: opts.signal } : {};
}
