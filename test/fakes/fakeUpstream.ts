import type { ServerResponse } from 'node:http';
import {
  behaviorFor,
  mergeBehavior,
  replyText,
  runPreamble,
  splitText,
  takeStreamError,
  writeEvents,
  type FailureState,
  type FakeBehavior,
} from './fakeBehavior.js';
import { responseEvents, responseJson } from './fakeResponses.js';
import { sendJson, startRecordingServer, type RecordedRequest, type ServerStats } from './fakeServerBase.js';

export type { FakeBehavior, FakeFailure, FakeToolCall } from './fakeBehavior.js';
export { systemPromptOf, lastUserMessageOf } from './fakeBehavior.js';
export type { RecordedRequest, ServerStats } from './fakeServerBase.js';

/**
 * A fake OpenAI server on 127.0.0.1: `POST {url}/chat/completions` and `POST {url}/responses`
 * (fakeResponses.ts) answer JSON or SSE (by the request's `stream`), and can rate-limit, fail, hang, stall or drop mid-stream on demand.
 * The proxy benchmark uses it too, so the plain JSON answer is a cached buffer (no per-request work
 * beyond reading the body).
 */
export interface FakeUpstream {
  /** Base URL ending in `/v1`, as an OpenAI client's `baseURL`. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  stats: ServerStats;
  /** Replaces the behaviour (unspecified knobs take their defaults) and resets failure counters. */
  setBehavior(patch: Partial<FakeBehavior>): void;
  close(): Promise<void>;
}

export interface FakeUpstreamOptions extends Partial<FakeBehavior> {
  /** Keep request bodies in `requests` (default true). */
  record?: boolean;
}

const CREATED = 1_700_000_000;

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const { record, ...initial } = opts;
  let behavior = mergeBehavior(initial);
  let failures: FailureState = { failed: 0 };
  /** JSON answers for a static reply, by model: the benchmark's hot path. */
  let cache = new Map<string, Buffer>();

  const handle = async (req: RecordedRequest, res: ServerResponse): Promise<void> => {
    const b = behaviorFor(behavior, req);
    // The cache of the behaviour this request answers by: one held by a delay past the next
    // setBehavior must not leave its reply in the new behaviour's cache.
    const answers = cache;
    const path = req.url.split('?')[0] ?? '';
    const responses = path.endsWith('/responses');
    if (req.method !== 'POST' || !(path.endsWith('/chat/completions') || responses)) {
      sendJson(res, 404, errorBody(`no route ${req.method} ${req.url}`, 'invalid_request_error', 'not_found'));
      return;
    }
    if (b.apiKey !== undefined && req.headers.authorization !== `Bearer ${b.apiKey}`) {
      sendJson(res, 401, errorBody('Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
      return;
    }
    const body = req.body as { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } } | undefined;
    if (body === undefined) {
      sendJson(res, 400, errorBody('body is not JSON', 'invalid_request_error', undefined));
      return;
    }
    // As OpenAI does: a request that names no model is refused (a caller that forgets it fails here too).
    if (typeof body.model !== 'string' || body.model === '') {
      sendJson(res, 400, errorBody('you must provide a model parameter', 'invalid_request_error', undefined));
      return;
    }
    if (await runPreamble(b, failures, req, res, errorBody)) return;
    const model = body.model;
    const startError = body.stream === true ? takeStreamError(b, failures) : undefined;
    if (startError !== undefined) {
      const opening = !startError.afterOpening ? []
        : responses ? responseEvents(b, body as Record<string, unknown>, '', body.model).slice(0, 2) : openAiEvents(b, req, body.model, false).slice(0, 1);
      await writeEvents(res, [...opening, responses ? responsesStartError(startError) : chatStartError(startError)], b, startError.headers);
      return;
    }
    if (responses) {
      const fields = body as Record<string, unknown>;
      if (body.stream === true) await writeEvents(res, responseEvents(b, fields, replyText(b, req), model), b);
      else sendJson(res, 200, responseJson(b, fields, replyText(b, req), model));
      return;
    }
    if (body.stream === true) {
      await writeEvents(res, openAiEvents(b, req, model, body.stream_options?.include_usage === true), b);
      return;
    }
    if (b.cutOff?.when(req) === true) {
      sendJson(res, 200, cutOffJson(b.cutOff.reasoningTokens, model));
      return;
    }
    if (typeof b.reply === 'string' && b.toolCalls === undefined && b.refusal === undefined && b.cutOff === undefined) {
      let cached = answers.get(model);
      if (cached === undefined) {
        cached = Buffer.from(completionJson(b, b.reply, model));
        answers.set(model, cached);
      }
      sendJson(res, 200, cached);
      return;
    }
    sendJson(res, 200, completionJson(b, replyText(b, req), model));
  };

  const server = await startRecordingServer(handle, record !== undefined ? { record } : {});
  return {
    url: `${server.origin}/v1`,
    port: server.port,
    requests: server.requests,
    stats: server.stats,
    setBehavior(patch) {
      behavior = mergeBehavior(patch);
      failures = { failed: 0 };
      cache = new Map();
    },
    close: () => server.close(),
  };
}

/** A chat stream's error event as OpenAI writes it (no [DONE] follows). */
function chatStartError(e: NonNullable<FakeBehavior['streamError']>): string {
  const code = e.type ?? 'server_error';
  return `data: ${errorBody(e.message ?? 'The server had an error while processing your request.', code === 'rate_limit_exceeded' ? 'requests' : code, code)}\n\n`;
}

/** A Responses stream's `error` (or `response.failed`) as its first event. */
function responsesStartError(e: NonNullable<FakeBehavior['streamError']>): string {
  const error = { code: e.type ?? 'server_error', message: e.message ?? 'The server had an error while processing your request.' };
  if (e.nested === true) {
    const nested = { type: 'service_unavailable_error', code: e.type ?? 'server_is_overloaded', message: e.message ?? 'Our servers are currently overloaded. Please try again later.', param: null };
    return `event: error\ndata: ${JSON.stringify({ type: 'error', sequence_number: 2, error: nested })}\n\n`;
  }
  if (e.event === 'response.failed') {
    return `event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', sequence_number: 0, response: { id: 'resp_fake', object: 'response', status: 'failed', error, output: [] } })}\n\n`;
  }
  return `event: error\ndata: ${JSON.stringify({ type: 'error', sequence_number: 0, ...error, param: null })}\n\n`;
}

function errorBody(message: string, type: string, code: string | undefined, param?: string): string {
  return JSON.stringify({ error: { message, type, param: param ?? null, code: code ?? null } });
}

function toolCallsOf(b: FakeBehavior): Array<Record<string, unknown>> | undefined {
  return b.toolCalls?.map((c, i) => ({
    id: c.id ?? `call_fake_${i}`,
    type: 'function',
    function: { name: c.name, arguments: c.arguments },
  }));
}

function usageOf(b: FakeBehavior): unknown {
  if ('wireUsage' in b) return b.wireUsage;
  const { prompt_tokens, completion_tokens } = b.usage;
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

function completionJson(b: FakeBehavior, text: string, model: string): string {
  const toolCalls = toolCallsOf(b);
  return JSON.stringify({
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [
      {
        index: 0,
        message: b.refusal !== undefined
          ? { role: 'assistant', content: null, refusal: b.refusal }
          : { role: 'assistant', content: toolCalls && text === '' ? null : text, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: toolCalls ? 'tool_calls' : 'stop',
        ...(b.stopReason !== undefined ? { stop_reason: b.stopReason } : {}),
      },
    ],
    usage: usageOf(b),
  });
}

/** A reasoning model's answer whose thinking used its whole limit (OpenAI's shape: empty content, "length"). */
function cutOffJson(reasoningTokens: number, model: string): string {
  return JSON.stringify({
    id: 'chatcmpl-fake', object: 'chat.completion', created: CREATED, model,
    choices: [{ index: 0, message: { role: 'assistant', content: '', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'length' }],
    usage: {
      prompt_tokens: 40, completion_tokens: reasoningTokens, total_tokens: 40 + reasoningTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
  });
}

function openAiEvents(b: FakeBehavior, req: RecordedRequest, model: string, includeUsage: boolean): string[] {
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: CREATED, model };
  const ev = (delta: Record<string, unknown>, finish: string | null): string => {
    const stopReason = finish !== null && b.stopReason !== undefined ? { stop_reason: b.stopReason } : {};
    return `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...stopReason }] })}\n\n`;
  };
  const events = [ev({ role: 'assistant', content: '' }, null)];
  if (b.refusal !== undefined) for (const piece of splitText(b.refusal, b.chunks)) events.push(ev({ refusal: piece }, null));
  else for (const piece of splitText(replyText(b, req), b.chunks)) events.push(ev({ content: piece }, null));
  (b.toolCalls ?? []).forEach((c, index) => {
    const id = c.id ?? `call_fake_${index}`;
    events.push(ev({ tool_calls: [{ index, id, type: 'function', function: { name: c.name, arguments: '' } }] }, null));
    for (const piece of splitText(c.arguments, 2)) {
      events.push(ev({ tool_calls: [{ index, function: { arguments: piece } }] }, null));
    }
  });
  events.push(ev({}, b.toolCalls ? 'tool_calls' : 'stop'));
  if (includeUsage) events.push(`data: ${JSON.stringify({ ...base, choices: [], usage: usageOf(b) })}\n\n`);
  events.push('data: [DONE]\n\n', ...(b.afterDone ?? []));
  return events;
}
