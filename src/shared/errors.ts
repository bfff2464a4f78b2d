/**
 * The typed error tree. Everything that can go wrong in a way a caller should hear about is one of
 * these; src/api/errors.ts and src/proxy/errors.ts map them to HTTP in one place each.
 */
export interface FieldProblem {
  /** JSON path of the bad field, dotted: `policy_optimization.mipro.online_pool`. Empty for the body. */
  path: string;
  message: string;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  readonly details: FieldProblem[];
  constructor(message: string, details: FieldProblem[] = []) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

/**
 * How many problems an error lists. A body with a million bad entries must not become a response
 * (and a response-building bill) a thousand times its size: the first ones say what is wrong.
 */
export const MAX_LISTED_PROBLEMS = 20;

/**
 * Schema-level problems with a well-formed request: 422, every bad field listed up to
 * MAX_LISTED_PROBLEMS; `problemCount` (when larger) is said in the message.
 */
export class ValidationError extends AppError {
  readonly status = 422;
  readonly code = 'validation_error';
  readonly problemCount: number;
  constructor(message: string, details: FieldProblem[] = [], problemCount = details.length) {
    const listed = details.length > MAX_LISTED_PROBLEMS ? details.slice(0, MAX_LISTED_PROBLEMS) : details;
    super(problemCount > listed.length ? `${message} (${problemCount} problems; the first ${listed.length} are listed)` : message, listed);
    this.problemCount = problemCount;
  }
}

/** The body could not be parsed at all (malformed JSON, wrong content type): 400. */
export class BadRequestError extends AppError {
  readonly status = 400;
  readonly code = 'bad_request';
}

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly code = 'unauthorized';
}

/** Also used for another tenant's resources: existence must not leak, so never 403. */
export class NotFoundError extends AppError {
  readonly status = 404;
  readonly code = 'not_found';
}

/**
 * The job was deleted (DELETE .../jobs/{id}) while a request or a background write of it was under
 * way: its rows are gone or going, so the write is refused, never stored as an orphan. A 404 like an
 * unknown job's; background work that meets it stops quietly.
 */
export class JobGoneError extends NotFoundError {
  constructor(message = 'job not found: it was deleted') {
    super(message);
  }
}

/** A state-machine violation, e.g. resuming a cancelled job. */
export class ConflictError extends AppError {
  readonly status = 409;
  readonly code = 'conflict';
}

/** The path exists, with other methods (listed in the error's `allow`, sent as the Allow header). */
export class MethodNotAllowedError extends AppError {
  readonly status = 405;
  readonly code = 'method_not_allowed';
  constructor(message: string, readonly allow: readonly string[]) {
    super(message);
  }
}

/** A body that is not JSON (another or no content type). */
export class UnsupportedMediaTypeError extends AppError {
  readonly status = 415;
  readonly code = 'unsupported_media_type';
}

/** The request was not received in full within REQUEST_TIMEOUT_MS (a stalled or deliberately slow client). */
export class RequestTimeoutError extends AppError {
  readonly status = 408;
  readonly code = 'request_timeout';
}

/** The request's headers are larger than Node's limit (16 KiB by default). */
export class HeadersTooLargeError extends AppError {
  readonly status = 431;
  readonly code = 'headers_too_large';
}

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly code = 'payload_too_large';
}

/**
 * The database cannot be reached (connection dropped or refused, server shutting down, disk full):
 * a 503 the client may retry, never a 500. `/readyz` reports the same state to load balancers.
 */
export class DatabaseUnavailableError extends AppError {
  readonly status = 503;
  readonly code = 'database_unavailable';
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message);
    if (opts?.cause !== undefined) this.cause = opts.cause;
  }
}

/** The server is stopping and the request could not finish within SHUTDOWN_GRACE_MS: retry elsewhere. */
export class ShuttingDownError extends AppError {
  readonly status = 503;
  readonly code = 'shutting_down';
}

/**
 * The server is closing and refused a request it had not begun: nothing of it was processed, so any
 * request (a rollout, a job creation) may be sent again, to another instance behind a balancer.
 */
export class ServerClosingError extends AppError {
  readonly status = 503;
  readonly code = 'server_closing';
}

/**
 * Whose error types an upstream's `type` is: Anthropic's (a fixed, documented set its SDKs and apps
 * branch on) or OpenAI's (chat completions, Responses and compatible servers: free strings).
 */
export type UpstreamApi = 'anthropic' | 'openai';

/**
 * An upstream model provider failed. `upstreamStatus` is the provider's HTTP status when it answered
 * (kept for 4xx), else the error is a 502 (unreachable / bad answer) or 504 (timeout).
 */
export class UpstreamError extends AppError {
  readonly status: number;
  readonly code: string;
  readonly upstreamStatus: number | undefined;
  readonly upstreamType: string | undefined;
  /** The API `upstreamType` belongs to: a Messages client gets Anthropic's type for the status instead of another API's (errorMapping.ts). */
  readonly upstreamApi: UpstreamApi | undefined;
  /** The field the provider's 4xx names (OpenAI's `param`), relayed in the proxy's error; cleared on a translated call (proxyRoute.ts). */
  upstreamParam: string | undefined;
  /**
   * The upstream's own wait hint on a 429 or 5xx (`retry-after`, `retry-after-ms`), relayed to the client
   * with the error so its SDK waits as the provider asked instead of its own short backoff.
   */
  retryHeaders: Record<string, string> = {};
  /**
   * The provider's id of the refused attempt (`x-request-id`, Anthropic's `request-id`): logged, never
   * relayed (the client's SDK reads miprox's id), so an operator can quote it to the provider.
   */
  upstreamRequestId: string | undefined;
  constructor(
    message: string,
    opts: { status: number; code?: string; upstreamStatus?: number; upstreamType?: string; upstreamApi?: UpstreamApi; upstreamParam?: string },
  ) {
    super(message);
    this.status = opts.status;
    this.code = opts.code ?? (opts.status === 504 ? 'upstream_timeout' : 'upstream_error');
    this.upstreamStatus = opts.upstreamStatus;
    this.upstreamType = opts.upstreamType;
    this.upstreamApi = opts.upstreamApi;
    this.upstreamParam = opts.upstreamParam;
  }
}

/** A configuration the server cannot start with (environment or provider keys). */
export class ConfigError extends AppError {
  readonly status = 500;
  readonly code = 'config_error';
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
