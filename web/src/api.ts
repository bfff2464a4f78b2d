import type { EventsPage, JobView, PageOf, ProposalView, RewardView, RolloutView } from './types.js';

/**
 * The dashboard's only way to the server: the public API with `Authorization: Bearer <key>`.
 * The key travels in that header only, never in a URL, and is never logged.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | null | undefined>;

export const EXPORT_FORMATS = ['json', 'messages', 'dspy'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * Longest wait for an answer. fetch has no deadline of its own: a server that accepts the connection
 * and never answers (hung, or a network path gone after a laptop's sleep) left sign-in at "Checking…"
 * and the job page saying "Live" at an old time, with no error and no retry, for as long as it stayed open.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/** Answers kept for conditional GETs (a job page reads one job view; a few more cover switching jobs). */
export const MAX_TAGGED_ANSWERS = 8;

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const SYSTEMS = '/api/v1/systems';

export class ApiClient {
  /**
   * The last answer of each GET that carried an ETag (the job view, polled every 2 s: ~330 KB with
   * 551 candidates), sent back as If-None-Match: an unchanged view is a 304 with no body, and the
   * text kept here is read again. Kept here rather than in the browser's HTTP cache, which
   * `cache: 'no-store'` keeps out of it: answers read with the key are not written to disk.
   */
  private readonly tagged = new Map<string, { etag: string; text: string }>();

  constructor(
    private readonly key: string,
    private readonly fetchImpl: typeof fetch = (input, init) => fetch(input, init),
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {}

  listJobs(q: { limit?: number; cursor?: string | null; status?: string | null } = {}): Promise<PageOf<JobView>> {
    return this.request('GET', JOBS, q);
  }

  getJob(jobId: string): Promise<JobView> {
    return this.request('GET', `${JOBS}/${encodeURIComponent(jobId)}`);
  }

  jobAction(jobId: string, action: 'pause' | 'resume' | 'cancel'): Promise<JobView> {
    return this.request('POST', `${JOBS}/${encodeURIComponent(jobId)}/${action}`);
  }

  /** Ends the job serving this candidate (the baseline: a rollback). */
  promote(jobId: string, candidateId: string): Promise<JobView> {
    return this.request('POST', `${JOBS}/${encodeURIComponent(jobId)}/promote`, {}, { candidate_id: candidateId });
  }

  /** The program as the proxy renders it (`json`, `messages`) or as a DSPy program state (`dspy`). */
  exportProgram(jobId: string, format: ExportFormat, candidateId?: string): Promise<unknown> {
    return this.request('GET', `${JOBS}/${encodeURIComponent(jobId)}/export`, { format, candidate_id: candidateId });
  }

  events(systemId: string, sinceSeq: number, limit: number): Promise<EventsPage> {
    return this.request('GET', `${SESSIONS}/${encodeURIComponent(systemId)}/events`, { since_seq: sinceSeq, limit });
  }

  /** A page of proposals, newest first; `next_cursor` leads to older ones. */
  proposals(systemId: string, cursor: string | null, limit: number): Promise<PageOf<ProposalView>> {
    return this.request('GET', `${SESSIONS}/${encodeURIComponent(systemId)}/proposals`, { cursor, limit });
  }

  /** One rollout with every call it made (module, served system text, input, output); 404 when the job has none by that id. */
  getRollout(jobId: string, rolloutId: string): Promise<RolloutView> {
    return this.request('GET', `${SYSTEMS}/${encodeURIComponent(jobId)}/rollouts/${encodeURIComponent(rolloutId)}`);
  }

  rewards(systemId: string, cursor: string | null, limit: number): Promise<PageOf<RewardView>> {
    return this.request('GET', `${SESSIONS}/${encodeURIComponent(systemId)}/rewards`, { cursor, limit });
  }

  private async request<T>(method: 'GET' | 'POST', path: string, query: Query = {}, body?: unknown): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== '') qs.set(k, String(v));
    const url = qs.size > 0 ? `${path}?${qs.toString()}` : path;
    // One deadline for the answer and its body: a body that stops arriving is the same hang.
    const signal = AbortSignal.timeout(this.timeoutMs);
    const held = method === 'GET' ? this.tagged.get(url) : undefined;
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers: {
          authorization: `Bearer ${this.key}`, accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(held === undefined ? {} : { 'if-none-match': held.etag }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        credentials: 'omit',
        cache: 'no-store',
        signal,
      });
      text = await res.text();
      // Unchanged since the answer kept: a 304 has no body, the kept text is the answer.
      if (res.status === 304 && held !== undefined) text = held.text;
    } catch {
      if (signal.aborted) throw new ApiError(0, 'timeout', `the miprox server did not answer within ${this.timeoutMs / 1000} s`, null);
      throw new ApiError(0, 'network_error', 'cannot reach the miprox server', null);
    }
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (res.status === 304 && held !== undefined) {
      this.keep(url, held.etag, held.text);
      return parsed as T;
    }
    if (!res.ok) throw toApiError(res, parsed);
    if (method === 'GET') this.keep(url, res.headers.get('etag'), text);
    return parsed as T;
  }

  private keep(url: string, etag: string | null, text: string): void {
    this.tagged.delete(url);
    if (etag === null) return;
    this.tagged.set(url, { etag, text });
    // The oldest first (a Map iterates in insertion order): a job page keeps its own view.
    for (const old of this.tagged.keys()) {
      if (this.tagged.size <= MAX_TAGGED_ANSWERS) break;
      this.tagged.delete(old);
    }
  }
}

function toApiError(res: Response, body: unknown): ApiError {
  const err = typeof body === 'object' && body !== null && 'error' in body ? (body as { error: unknown }).error : null;
  const e = typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : {};
  const message = typeof e.message === 'string' ? e.message : `${res.status} ${res.statusText}`;
  const code = typeof e.code === 'string' ? e.code : `http_${res.status}`;
  const requestId = typeof e.request_id === 'string' ? e.request_id : res.headers.get('x-request-id');
  return new ApiError(res.status, code, message, requestId);
}
