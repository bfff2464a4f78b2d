import { ErrorBodySchema } from './wire.js';

/**
 * The SDK's error tree. Every failure a caller should handle is a MiproxError; HTTP answers map to
 * a class through ONE table (STATUS_CLASSES) so `catch (e) { if (e instanceof NotFoundError) ... }`
 * works the same for every method.
 */

export interface ErrorDetail {
  /** Dotted JSON path of the bad field (`policy_optimization.mipro.online_pool`); empty for the body. */
  path: string;
  message: string;
}

export interface MiproxErrorInit {
  status?: number;
  code?: string;
  details?: ErrorDetail[];
  requestId?: string;
  retryAfterMs?: number;
  cause?: unknown;
}

export class MiproxError extends Error {
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;
  readonly code: string;
  readonly details: ErrorDetail[];
  /**
   * The server's own message, without the details that `message` appends (`invalid job configuration`
   * where `message` reads `invalid job configuration: policy_optimization.mipro.max_rollout: unknown field; ...`).
   */
  readonly serverMessage: string;
  /** The server's x-request-id, to find the request in its log. */
  readonly requestId: string | undefined;
  /** How long the server asked us to wait (retry-after), on 429 and 503 answers that said so. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: MiproxErrorInit = {}) {
    // The details are what a 422 is about: `console.error(err.message)` alone must show them.
    super(withDetails(message, init.details ?? []), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code ?? 'miprox_error';
    this.details = init.details ?? [];
    this.serverMessage = message;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** Details `message` lists (the server lists at most 20; all stay in `details`). */
const DETAILS_IN_MESSAGE = 5;

/** `invalid job configuration: a.b: unknown field; c: is required (and 3 more in details)`. */
function withDetails(message: string, details: readonly ErrorDetail[]): string {
  if (details.length === 0) return message;
  const shown = details.slice(0, DETAILS_IN_MESSAGE).map((d) => `${d.path || 'body'}: ${d.message}`).join('; ');
  const more = details.length > DETAILS_IN_MESSAGE ? ` (and ${details.length - DETAILS_IN_MESSAGE} more in details)` : '';
  return `${message}: ${shown}${more}`;
}

/** 401: the API key is missing, wrong or revoked. */
export class AuthenticationError extends MiproxError {}
/** 404: also what another tenant's job looks like (the server never says 403). */
export class NotFoundError extends MiproxError {}
/** 409: a state-machine violation, e.g. resuming a cancelled job. */
export class ConflictError extends MiproxError {}
/** 400 (malformed) or 422 (schema); `details` lists every bad field. */
export class ValidationError extends MiproxError {}
export class RateLimitError extends MiproxError {}
/** 5xx. */
export class ServerError extends MiproxError {}

/** The server could not be reached (refused, DNS, reset); `requestSent` says whether it may have seen it. */
export class ConnectionError extends MiproxError {
  readonly url: string;
  readonly requestSent: boolean;
  constructor(message: string, init: MiproxErrorInit & { url: string; requestSent: boolean }) {
    super(message, { code: 'connection_error', ...init });
    this.url = init.url;
    this.requestSent = init.requestSent;
  }
}

/** A request, or a wait such as waitForCompletion, took longer than allowed. */
export class TimeoutError extends MiproxError {}

/** waitForCompletion gave up; `lastStatus` is the job's status at the last look. */
export class JobWaitTimeoutError extends TimeoutError {
  readonly jobId: string;
  readonly lastStatus: string | undefined;
  constructor(message: string, init: { jobId: string; lastStatus: string | undefined }) {
    super(message, { code: 'wait_timeout' });
    this.jobId = init.jobId;
    this.lastStatus = init.lastStatus;
  }
}

/** The server answered, but not with the JSON the contract promises (a proxy page, an old server ...). */
export class ResponseFormatError extends MiproxError {}

/** A local config file (configPath) could not be read or parsed. */
export class ConfigFileError extends MiproxError {}

type ErrorClass = new (message: string, init: MiproxErrorInit) => MiproxError;

/** The one status -> class map. 5xx is ServerError; any other status is the MiproxError base. */
const STATUS_CLASSES: ReadonlyMap<number, ErrorClass> = new Map<number, ErrorClass>([
  [400, ValidationError],
  [401, AuthenticationError],
  [404, NotFoundError],
  [409, ConflictError],
  [422, ValidationError],
  [429, RateLimitError],
]);

export function errorClassForStatus(status: number): ErrorClass {
  return STATUS_CLASSES.get(status) ?? (status >= 500 ? ServerError : MiproxError);
}

/** Builds the typed error for a non-2xx answer from its status, body text and headers. */
export function errorFromResponse(status: number, bodyText: string, headers: Headers, retryAfterMs?: number): MiproxError {
  let message = `HTTP ${status}`;
  let code = `http_${status}`;
  let details: ErrorDetail[] = [];
  let requestId = headers.get('x-request-id') ?? undefined;
  const parsed = ErrorBodySchema.safeParse(safeJson(bodyText));
  if (parsed.success) {
    const e = parsed.data.error;
    if (e.message) message = e.message;
    if (e.code !== null) code = String(e.code);
    details = (e.details ?? []).map((d) => ({ path: d.path ?? '', message: d.message }));
    requestId = e.request_id ?? requestId;
  } else if (isHtml(bodyText, headers)) {
    // A balancer's or proxy's error page (HAProxy's 503 when no instance is up): its markup, newlines
    // included, was the message (`HTTP 503: <html><body><h1>503 Service Unavailable</h1>\n...`).
    // Only the page's start is read: its words are cut to 200 characters anyway, and the lazy
    // patterns below rescan the rest of the text for every unclosed `<script` they meet.
    const text = htmlText(bodyText.slice(0, MAX_HTML_READ));
    message = `HTTP ${status}, an HTML page (a balancer or proxy in front of miprox, or no miprox at this URL)${text ? `: ${text.slice(0, 200)}` : ''}`;
  } else if (bodyText.trim()) {
    message = `HTTP ${status}: ${bodyText.trim().slice(0, 200)}`;
  }
  const Cls = errorClassForStatus(status);
  return new Cls(message, { status, code, details, ...(requestId ? { requestId } : {}), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
}

/** How much of an HTML error page is read for its words (an error page is a few hundred bytes). */
const MAX_HTML_READ = 16_384;

function isHtml(bodyText: string, headers: Headers): boolean {
  return /^\s*text\/html\b/i.test(headers.get('content-type') ?? '') || /^\s*<(!doctype html|html)\b/i.test(bodyText);
}

/** An HTML page's words: tags, comments and the head's title/style/script left out, spaces collapsed. */
function htmlText(html: string): string {
  return html
    .replace(/<(head|script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
