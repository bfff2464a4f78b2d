import { UpstreamError, type UpstreamApi } from '../shared/errors.js';
import { redact } from './secretRedaction.js';

/**
 * Turning what went wrong upstream into UpstreamError, in one place for every provider:
 * an HTTP answer (4xx keeps its status; 5xx becomes 502) or an exception from undici
 * (timeout -> 504, connection trouble -> 502, caller abort -> 499).
 */

/** Context for messages: which upstream, and which secrets must never appear in them. */
export interface ErrorContext {
  /** e.g. "openai", "anthropic", "upstream http://127.0.0.1:8000" — never contains a key. */
  upstreamName: string;
  secrets: readonly string[];
  /** Whose error types the upstream answers with (Anthropic's, or OpenAI's and compatible servers'). */
  upstreamApi: UpstreamApi;
}

/** Status used when our own caller went away (nginx's convention); the proxy has nobody to answer. */
export const CLIENT_CLOSED_STATUS = 499;

interface ParsedErrorBody {
  message: string | undefined;
  type: string | undefined;
  code: string | undefined;
  /** OpenAI's `param`: the request field the error is about, when the upstream names one. */
  param?: string | undefined;
}

/**
 * Reads the error message out of the bodies real servers send: OpenAI `{error:{message,type,code}}`,
 * Anthropic `{type:"error",error:{type,message}}`, vLLM `{object:"error",message,type}`,
 * FastAPI `{detail}`, or plain text.
 */
export function parseErrorBody(text: string): ParsedErrorBody {
  const none: ParsedErrorBody = { message: undefined, type: undefined, code: undefined };
  const trimmed = text.trim();
  if (trimmed === '') return none;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return { ...none, message: trimmed.slice(0, 500) };
  }
  if (!isRecord(parsed)) return { ...none, message: trimmed.slice(0, 500) };
  const inner = isRecord(parsed.error) ? parsed.error : parsed;
  const message =
    str(inner.message) ??
    str(parsed.error) ??
    str(parsed.detail) ??
    (parsed.detail !== undefined ? JSON.stringify(parsed.detail).slice(0, 500) : undefined);
  const codeValue = inner.code;
  const code = typeof codeValue === 'number' ? String(codeValue) : str(codeValue);
  const param = str(inner.param);
  return { message, type: str(inner.type) === 'error' ? undefined : str(inner.type), code, ...(param !== undefined ? { param } : {}) };
}

/**
 * The final error for an upstream that answered with a non-2xx status (after any retries), or whose
 * stream began with an error (`inStream`: `status` is the one the provider gives its type).
 */
export function errorFromStatus(status: number, bodyText: string, ctx: ErrorContext, inStream = false): UpstreamError {
  // The whole body, before reading it: a key echoed in `type`, `code` or `param` is relayed too.
  const body = parseErrorBody(redact(bodyText, ctx.secrets));
  const message = body.message ?? `HTTP ${status}`;
  if (status >= 400 && status < 500) {
    // The caller's request (or our key) was refused: keep the status and the upstream's words.
    return new UpstreamError(message, {
      status,
      code: body.code ?? 'upstream_error',
      upstreamStatus: status,
      upstreamApi: ctx.upstreamApi,
      ...(body.type !== undefined ? { upstreamType: body.type } : {}),
      ...(body.param !== undefined ? { upstreamParam: body.param } : {}),
    });
  }
  const how = inStream ? `${body.type ?? body.code ?? `an HTTP ${status} error`} at the start of its stream` : `HTTP ${status}`;
  return new UpstreamError(`${ctx.upstreamName} failed with ${how}: ${message}`, {
    status: 502,
    upstreamStatus: status,
    upstreamApi: ctx.upstreamApi,
    ...(body.type !== undefined ? { upstreamType: body.type } : {}),
  });
}

/** undici / node error codes that mean "we never got a usable connection or it broke". */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Retrying a name that does not resolve only delays the same answer. */
const NOT_RETRYABLE_CONNECTION_CODES = new Set(['ENOTFOUND']);

export function errorCode(err: unknown): string | undefined {
  if (!isRecord(err)) return undefined;
  const own = str(err.code);
  if (own !== undefined) return own;
  // Happy-eyeballs connects fail with an AggregateError; its parts carry the code.
  if (Array.isArray(err.errors)) {
    for (const inner of err.errors) {
      const c = errorCode(inner);
      if (c !== undefined) return c;
    }
  }
  return isRecord(err.cause) ? errorCode(err.cause) : undefined;
}

export function isTimeoutCode(code: string | undefined): boolean {
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
}

/** Connection-level failures are retried before the first byte of a successful answer. */
export function isRetryableException(err: unknown, callerAborted: boolean): boolean {
  if (callerAborted) return false;
  const code = errorCode(err);
  if (code === undefined) return false;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  return CONNECTION_CODES.has(code) && !NOT_RETRYABLE_CONNECTION_CODES.has(code);
}

/**
 * Marks an error that the same request would meet again (this deployment refuses it): relayed with
 * `x-should-retry: false`, so the client's SDK (openai-node, @anthropic-ai/sdk) reports it at once
 * instead of retrying a 502 twice, each retry one more failed call of the rollout.
 */
export function notToRetry(err: UpstreamError): UpstreamError {
  err.retryHeaders = { ...err.retryHeaders, 'x-should-retry': 'false' };
  return err;
}

/** The code of a connection to an inference_url address the policy refuses (guardedLookup.ts). */
const REFUSED_ADDRESS_CODE = 'ERR_INFERENCE_ADDRESS_REFUSED';

/** Maps an exception thrown while calling or reading from the upstream. */
export function errorFromException(
  err: unknown,
  ctx: ErrorContext & { timeoutMs: number; callerAborted: boolean; phase: 'request' | 'body' },
): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (ctx.callerAborted) {
    return new UpstreamError(`request to ${ctx.upstreamName} was cancelled by the caller`, {
      status: CLIENT_CLOSED_STATUS,
      code: 'client_closed_request',
    });
  }
  const code = errorCode(err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new UpstreamError(`could not connect to ${ctx.upstreamName} in time`, { status: 504 });
  }
  if (isTimeoutCode(code)) {
    const what = code === 'UND_ERR_BODY_TIMEOUT' ? 'stopped sending data for' : 'did not answer within';
    return new UpstreamError(`${ctx.upstreamName} ${what} ${ctx.timeoutMs} ms`, { status: 504 });
  }
  const detail = redact(err instanceof Error ? err.message : String(err), ctx.secrets);
  if (ctx.phase === 'body') {
    return new UpstreamError(
      `connection to ${ctx.upstreamName} broke while reading the response (${code ?? detail})`,
      { status: 502, code: 'upstream_stream_error' },
    );
  }
  if (code !== undefined && CONNECTION_CODES.has(code)) {
    return new UpstreamError(`${ctx.upstreamName} is unreachable (${code})`, { status: 502 });
  }
  const failed = new UpstreamError(`request to ${ctx.upstreamName} failed: ${detail}`, { status: 502 });
  return code === REFUSED_ADDRESS_CODE ? notToRetry(failed) : failed;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
