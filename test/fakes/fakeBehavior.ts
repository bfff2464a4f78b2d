import type { ServerResponse } from 'node:http';
import { sendJson, sleep, type RecordedRequest } from './fakeServerBase.js';

/**
 * How a fake upstream answers. Both fakes (OpenAI and Anthropic) read the same knobs; whether the
 * answer is JSON or SSE follows the request's `stream` flag, as real servers do.
 */
export interface FakeToolCall {
  id?: string;
  name: string;
  /** JSON text of the arguments. */
  arguments: string;
}

export interface FakeFailure {
  status: number;
  /** Fail this many requests, then answer normally. Omitted: fail forever. */
  times?: number;
  /** Sent as the `retry-after` header (seconds or an HTTP date). */
  retryAfter?: string;
  message?: string;
  type?: string;
  code?: string;
  /** OpenAI's `param`, the request field the error names (null when not given). */
  param?: string;
  /** More headers on the failure (`retry-after-ms`, `x-should-retry`), as real providers send. */
  headers?: Record<string, string>;
}

export interface FakeBehavior {
  /** Assistant text, fixed or computed from the request (e.g. echo its system message). */
  reply: string | ((req: RecordedRequest) => string);
  toolCalls?: readonly FakeToolCall[];
  /**
   * Chat completions: the model refuses (structured outputs' safety refusal) with this text, in
   * `message.refusal` with `content: null` (JSON) or `delta.refusal` pieces (SSE), instead of the reply.
   */
  refusal?: string;
  /**
   * Chat completions: the stop string that ended the answer, as vLLM names it in `choices[].stop_reason`
   * (JSON, and the finish chunk of a stream). OpenAI itself never says which.
   */
  stopReason?: string;
  /**
   * Chat completions (JSON): the requests it picks end at their token limit, as a reasoning model
   * answers when its thinking took the whole limit: `content: ""`, `finish_reason: "length"` and
   * `usage.completion_tokens_details.reasoning_tokens`.
   */
  cutOff?: { when: (req: RecordedRequest) => boolean; reasoningTokens: number };
  /** Tool calls computed from the request (wins over `toolCalls`), e.g. untilToolResult for agent loops. */
  toolCallsFor?: (req: RecordedRequest) => readonly FakeToolCall[] | undefined;
  /** Wait before answering (headers included). */
  delayMs: number;
  /** SSE: how many pieces the reply text is cut into. */
  chunks: number;
  /** SSE: pause between events. */
  chunkDelayMs: number;
  usage: { prompt_tokens: number; completion_tokens: number };
  /**
   * The usage object as sent, instead of the one built from `usage` (chat completions: the JSON
   * answer and the final usage chunk; Anthropic: the message, message_start and message_delta):
   * what misbehaving servers send, `null`, partial or mistyped counts.
   */
  wireUsage?: unknown;
  fail?: FakeFailure;
  /** Never answer (the request stays open until the client gives up). */
  hang: boolean;
  /** Destroy the connection once the request is read, before any status line: ECONNRESET for the caller. */
  reset?: boolean;
  /**
   * Which requests the misbehaviour knobs (fail, hang, reset, delays, drop, stall, error event) apply
   * to; the others are answered normally. Omitted: every request. A program test fails one module's call.
   */
  onlyFor?: (req: RecordedRequest) => boolean;
  /**
   * Answer only once the promise returned for the request settles (undefined: at once): a test holds
   * a call open until it has done what must happen while the call runs, instead of guessing a delay.
   */
  holdUntil?: (req: RecordedRequest) => Promise<void> | undefined;
  /** SSE: destroy the connection after this many events. */
  dropAfterChunks?: number;
  /** SSE: after this many events, stay silent with the connection open. */
  stallAfterChunks?: number;
  /** SSE (Anthropic Messages, OpenAI Responses): after this many events, the provider's own `error` event, then the end. */
  errorEventAfterChunks?: number;
  /** The message of that `error` event (default: the provider's usual words). */
  errorEventMessage?: string;
  /**
   * SSE, every protocol: a 200 whose first (and only) event is the provider's error, for the first
   * `times` streaming requests (omitted: all), then normal streams. `type` is the error's type
   * (Anthropic) or code (chat completions, Responses); `event` picks Responses' `response.failed`.
   * `afterOpening`: the events that open every answer come first (Anthropic's message_start and ping,
   * Responses' response.created and in_progress, chat's role chunk), as providers often send them.
   * `nested`: Responses' `error: {type, code, message}` form of the event (`type` then names the code).
   */
  streamError?: { times?: number; type?: string; message?: string; event?: 'error' | 'response.failed'; headers?: Record<string, string>; afterOpening?: boolean; nested?: boolean };
  /** SSE (Anthropic Messages): a raw event written after this many events, as a misbehaving server or gateway might. */
  rawEvent?: { after: number; event: string };
  /** SSE (chat completions): raw events written after `data: [DONE]`, as a misbehaving server might. */
  afterDone?: readonly string[];
  /** The key the client must present; omitted: any or none. */
  apiKey?: string;
}

export const DEFAULT_BEHAVIOR: FakeBehavior = {
  reply: 'Hello from the fake upstream.',
  delayMs: 0,
  chunks: 3,
  chunkDelayMs: 0,
  usage: { prompt_tokens: 12, completion_tokens: 7 },
  hang: false,
};

export function mergeBehavior(patch: Partial<FakeBehavior>): FakeBehavior {
  return { ...DEFAULT_BEHAVIOR, ...patch };
}

/** Mutable per-behaviour state: how many failures were already served. */
export interface FailureState {
  failed: number;
  /** Streams answered with `streamError` so far. */
  streamErrors?: number;
}

/** The `streamError` for this request, counted, or undefined when the stream is to be normal. */
export function takeStreamError(b: FakeBehavior, state: FailureState): NonNullable<FakeBehavior['streamError']> | undefined {
  const e = b.streamError;
  if (e === undefined || (e.times !== undefined && (state.streamErrors ?? 0) >= e.times)) return undefined;
  state.streamErrors = (state.streamErrors ?? 0) + 1;
  return e;
}

/**
 * Delay, hang and scripted failures, common to every endpoint. Returns true when it answered (or
 * decided never to), so the caller must not write a normal answer.
 */
export async function runPreamble(
  b: FakeBehavior,
  state: FailureState,
  req: RecordedRequest,
  res: ServerResponse,
  errorBody: (message: string, type: string, code: string | undefined, param?: string) => string,
): Promise<boolean> {
  if (b.delayMs > 0) await sleep(b.delayMs);
  await b.holdUntil?.(req);
  if (b.hang) return true;
  if (b.reset) {
    res.socket?.destroy();
    return true;
  }
  const f = b.fail;
  if (f !== undefined && (f.times === undefined || state.failed < f.times)) {
    state.failed++;
    const headers: Record<string, string> = { ...(f.retryAfter !== undefined ? { 'retry-after': f.retryAfter } : {}), ...f.headers };
    const type = f.type ?? (f.status === 429 ? 'rate_limit_error' : f.status >= 500 ? 'server_error' : 'invalid_request_error');
    sendJson(res, f.status, errorBody(f.message ?? `fake failure ${state.failed}`, type, f.code, f.param), headers);
    return true;
  }
  return false;
}

/** Writes SSE events, honouring the drop / stall / pacing knobs, then ends the response. */
export async function writeEvents(res: ServerResponse, events: readonly string[], b: FakeBehavior, headers: Record<string, string> = {}): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  const careful = b.dropAfterChunks !== undefined || b.stallAfterChunks !== undefined || b.chunkDelayMs > 0;
  // A cut or a silence before the first event still comes after the 200: the caller has its answer's head.
  if (careful) await new Promise<void>((resolve) => res.write('', () => resolve()));
  for (let i = 0; i < events.length; i++) {
    if (b.dropAfterChunks === i) {
      res.socket?.destroy();
      return;
    }
    if (b.stallAfterChunks === i) return;
    const ev = events[i] as string;
    // When the connection is about to be cut, wait until earlier events really left.
    if (careful) await new Promise<void>((resolve) => res.write(ev, () => resolve()));
    else res.write(ev);
    if (b.chunkDelayMs > 0) await sleep(b.chunkDelayMs);
  }
  res.end();
}

/** Cuts text into at most n non-empty pieces of similar length. */
export function splitText(text: string, n: number): string[] {
  if (text === '') return [];
  const count = Math.max(1, Math.min(n, text.length));
  const size = Math.ceil(text.length / count);
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

export function replyText(b: FakeBehavior, req: RecordedRequest): string {
  return typeof b.reply === 'string' ? b.reply : b.reply(req);
}

// ---- helpers for reply functions ------------------------------------------------------------

interface MessageLike {
  role?: unknown;
  content?: unknown;
}

function messagesOf(req: RecordedRequest): MessageLike[] {
  const body = req.body as { messages?: unknown; input?: unknown } | undefined;
  if (typeof body?.input === 'string') return [{ role: 'user', content: body.input }];
  if (Array.isArray(body?.input)) return body.input as MessageLike[];
  return Array.isArray(body?.messages) ? (body.messages as MessageLike[]) : [];
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p: { text?: unknown }) => (typeof p.text === 'string' ? p.text : '')).join('');
  }
  return '';
}

/**
 * The system prompt of a chat request (first system message), a Responses one (`instructions`) or
 * an Anthropic one (`system`, a string or text blocks).
 */
export function systemPromptOf(req: RecordedRequest): string {
  const body = req.body as { system?: unknown; instructions?: unknown } | undefined;
  if (typeof body?.system === 'string') return body.system;
  if (Array.isArray(body?.system)) return textOf(body.system);
  if (typeof body?.instructions === 'string') return body.instructions;
  const sys = messagesOf(req).find((m) => m.role === 'system' || m.role === 'developer');
  return sys ? textOf(sys.content) : '';
}

export function lastUserMessageOf(req: RecordedRequest): string {
  const users = messagesOf(req).filter((m) => m.role === 'user');
  const last = users[users.length - 1];
  return last ? textOf(last.content) : '';
}

/** The behaviour for one request: `onlyFor` and `toolCallsFor` resolved. */
export function behaviorFor<B extends FakeBehavior>(given: B, req: RecordedRequest): B {
  const b = given.onlyFor === undefined || given.onlyFor(req) ? given : wellBehaved(given);
  if (b.toolCallsFor === undefined) return b;
  const calls = b.toolCallsFor(req);
  const { toolCalls: _static, ...rest } = b;
  return (calls === undefined ? rest : { ...rest, toolCalls: calls }) as B;
}

/** The behaviour without its misbehaviour knobs: what a request `onlyFor` spares gets. */
function wellBehaved<B extends FakeBehavior>(b: B): B {
  const { fail: _f, reset: _r, dropAfterChunks: _d, stallAfterChunks: _s, errorEventAfterChunks: _e, streamError: _se, ...rest } = b;
  return { ...rest, hang: false, delayMs: 0, chunkDelayMs: 0 } as B;
}

/**
 * Calls the tools until a tool result is the last thing the request carries (chat `tool` message,
 * Responses `function_call_output` item, Messages `tool_result` block), then answers in text: what a
 * model does in a two-step agent loop.
 */
export function untilToolResult(calls: readonly FakeToolCall[]): (req: RecordedRequest) => readonly FakeToolCall[] | undefined {
  return (req) => {
    const body = req.body as { messages?: unknown[]; input?: unknown } | undefined;
    const items = Array.isArray(body?.input) ? body.input : body?.messages ?? [];
    const last = items[items.length - 1] as { role?: unknown; type?: unknown; content?: unknown } | undefined;
    const isResult = last?.role === 'tool' || last?.type === 'function_call_output'
      || (Array.isArray(last?.content) && last.content.some((b: { type?: unknown }) => b.type === 'tool_result'));
    return isResult ? undefined : calls;
  };
}
