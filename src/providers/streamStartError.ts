import type { SseEvent } from './sseParser.js';

/**
 * A provider's error sent at the start of a stream it had answered with HTTP 200: Anthropic's
 * `event: error` (`overloaded_error` when it is overloaded), a chat-completions `data: {"error":...}`,
 * a Responses `error` or `response.failed` event, as the first event or after the events that open
 * every answer and carry nothing of it (Anthropic's `message_start` and `ping`, Responses'
 * `response.created` / `in_progress` / `queued`, a chat chunk with only the role). Nothing of the
 * answer went out before it, so the transport treats it as the status the provider gives that error on
 * a refused request (retried, or relayed, exactly as that status would be: upstreamTransport.ts).
 * Relayed as a 200 stream carrying the error, no SDK retried it (openai-node and @anthropic-ai/sdk
 * retry on a status only).
 */
export interface StreamStartError {
  /** The HTTP status the provider uses for this error type. */
  status: number;
  /** An error body errorFromStatus reads (message, type, code, param), as the provider wrote it. */
  body: string;
}

/**
 * Reads one of a stream's leading events: the error it carries, WAIT when it opens the answer without
 * carrying any of it (read on), or undefined (the answer has begun, or an error of an unknown type).
 */
export type StreamStartCheck = (ev: SseEvent) => StreamStartError | typeof WAIT | undefined;

export const WAIT = 'wait';

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
  ['service_unavailable_error', 503],
  ['server_is_overloaded', 503],
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

/** Anthropic Messages: `event: error` / `{"type":"error","error":{"type","message"}}`, after `message_start` and `ping` at most. */
export const anthropicStreamStartError: StreamStartCheck = (ev) => {
  const data = jsonObject(ev.data);
  if (data !== undefined && (data.type === 'message_start' || data.type === 'ping')) return WAIT;
  if (data === undefined || (ev.event !== 'error' && data.type !== 'error') || !isRecord(data.error)) return undefined;
  const status = statusOf({ type: data.error.type });
  return status === undefined ? undefined : { status, body: ev.data };
};

/** Chat completions (OpenAI and compatible servers): `data: {"error":{"message","type","code"}}`, after chunks with only the role at most. */
export const chatStreamStartError: StreamStartCheck = (ev) => {
  const data = jsonObject(ev.data);
  if (data !== undefined && isEmptyChunk(data)) return WAIT;
  if (data === undefined || !isRecord(data.error)) return undefined;
  const status = statusOf(data.error);
  return status === undefined ? undefined : { status, body: ev.data };
};

/**
 * OpenAI Responses: an `error` event (`{type:"error", code, message, param}`, or its `error: {type,
 * code, message}` form) or `response.failed` (`response.error: {code, message}`), after the events
 * that open the response at most.
 */
export const responsesStreamStartError: StreamStartCheck = (ev) => {
  const data = jsonObject(ev.data);
  if (data === undefined) return undefined;
  if (data.type === 'response.created' || data.type === 'response.in_progress' || data.type === 'response.queued') return WAIT;
  if (ev.event === 'error' || data.type === 'error') {
    const status = isRecord(data.error) ? statusOf(data.error) : statusOf({ code: data.code });
    return status === undefined ? undefined : { status, body: ev.data };
  }
  if ((ev.event === 'response.failed' || data.type === 'response.failed') && isRecord(data.response) && isRecord(data.response.error)) {
    const status = statusOf({ code: data.response.error.code });
    return status === undefined ? undefined : { status, body: JSON.stringify({ error: data.response.error }) };
  }
  return undefined;
};

/**
 * A chat chunk that carries nothing of the answer: each choice's delta at most the role and empty
 * text, no finish reason (OpenAI's first chunk), or no choices at all (Azure's prompt filter results).
 */
function isEmptyChunk(data: Record<string, unknown>): boolean {
  if (!Array.isArray(data.choices) || data.usage != null || data.error !== undefined) return false;
  return data.choices.every((choice: unknown) => {
    if (!isRecord(choice) || choice.finish_reason != null || !isRecord(choice.delta)) return false;
    return Object.entries(choice.delta).every(([key, value]) => key === 'role' || value === null || value === '');
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
