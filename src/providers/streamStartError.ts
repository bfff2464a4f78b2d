import type { SseEvent } from './sseParser.js';

/**
 * A provider's error sent as the first event of a stream it had answered with HTTP 200: Anthropic's
 * `event: error` (`overloaded_error` when it is overloaded), a chat-completions `data: {"error":...}`,
 * a Responses `error` or `response.failed` event. Nothing of the answer went out before it, so the
 * transport treats it as the status the provider gives that error on a refused request (retried, or
 * relayed, exactly as that status would be: upstreamTransport.ts). Relayed as a 200 whose first event
 * is the error, no SDK retried it (openai-node and @anthropic-ai/sdk retry on a status only).
 */
export interface StreamStartError {
  /** The HTTP status the provider uses for this error type. */
  status: number;
  /** An error body errorFromStatus reads (message, type, code, param), as the provider wrote it. */
  body: string;
}

/** Reads one upstream protocol's first event: the error it carries, or undefined (an answer, or an error of an unknown type). */
export type StreamStartCheck = (ev: SseEvent) => StreamStartError | undefined;

/**
 * The statuses providers document for their error types and codes. Anthropic's error types (its
 * "Errors" page); OpenAI's types and codes for the same statuses. An error named by none of these is
 * not guessed at: it stays a 200 stream carrying the provider's own event, as before.
 */
const STATUS_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['invalid_request_error', 400],
  ['authentication_error', 401],
  ['invalid_api_key', 401],
  ['billing_error', 402],
  ['permission_error', 403],
  ['not_found_error', 404],
  ['request_too_large', 413],
  ['rate_limit_error', 429],
  ['rate_limit_exceeded', 429],
  ['api_error', 500],
  ['server_error', 500],
  ['internal_error', 500],
  ['service_unavailable', 503],
  ['timeout_error', 504],
  ['overloaded_error', 529],
]);

/** By type first, then code; a numeric code in the HTTP range (vLLM writes the status there) last. */
function statusOf(error: Record<string, unknown>): number | undefined {
  for (const name of [error.type, error.code]) {
    const status = typeof name === 'string' ? STATUS_BY_NAME.get(name) : undefined;
    if (status !== undefined) return status;
  }
  const code = typeof error.code === 'number' ? error.code : typeof error.code === 'string' && /^\d{3}$/.test(error.code) ? Number(error.code) : NaN;
  return code >= 400 && code <= 599 ? code : undefined;
}

function jsonObject(data: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined; // a malformed event is the stream checks' to report (sseFraming.ts)
  }
}

/** Anthropic Messages: `event: error` / `{"type":"error","error":{"type","message"}}`. */
export const anthropicStreamStartError: StreamStartCheck = (ev) => {
  const data = jsonObject(ev.data);
  if (data === undefined || (ev.event !== 'error' && data.type !== 'error') || !isRecord(data.error)) return undefined;
  const status = statusOf({ type: data.error.type });
  return status === undefined ? undefined : { status, body: ev.data };
};

/** Chat completions (OpenAI and compatible servers): `data: {"error":{"message","type","code"}}`. */
export const chatStreamStartError: StreamStartCheck = (ev) => {
  const data = jsonObject(ev.data);
  if (data === undefined || !isRecord(data.error)) return undefined;
  const status = statusOf(data.error);
  return status === undefined ? undefined : { status, body: ev.data };
};

/** OpenAI Responses: an `error` event (`{type:"error", code, message, param}`) or `response.failed` (`response.error: {code, message}`). */
export const responsesStreamStartError: StreamStartCheck = (ev) => {
  const data = jsonObject(ev.data);
  if (data === undefined) return undefined;
  if (ev.event === 'error' || data.type === 'error') {
    const status = statusOf({ code: data.code });
    return status === undefined ? undefined : { status, body: ev.data };
  }
  if ((ev.event === 'response.failed' || data.type === 'response.failed') && isRecord(data.response) && isRecord(data.response.error)) {
    const status = statusOf({ code: data.response.error.code });
    return status === undefined ? undefined : { status, body: JSON.stringify({ error: data.response.error }) };
  }
  return undefined;
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
