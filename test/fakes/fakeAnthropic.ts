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
import { sendJson, startRecordingServer, type RecordedRequest, type ServerStats } from './fakeServerBase.js';

/**
 * A fake Anthropic Messages API on 127.0.0.1: `POST {url}/v1/messages`, JSON or SSE by the request's
 * `stream`, with the same failure knobs as the OpenAI fake (an `error` event mid-stream included).
 */
export type FakeAnthropicBehavior = FakeBehavior;

export interface FakeAnthropic {
  /** Base URL without `/v1` (like ANTHROPIC_BASE_URL). */
  url: string;
  port: number;
  requests: RecordedRequest[];
  stats: ServerStats;
  setBehavior(patch: Partial<FakeAnthropicBehavior>): void;
  close(): Promise<void>;
}

export async function startFakeAnthropic(opts: Partial<FakeAnthropicBehavior> & { record?: boolean } = {}): Promise<FakeAnthropic> {
  const { record, ...initial } = opts;
  let behavior: FakeAnthropicBehavior = mergeBehavior(initial);
  let failures: FailureState = { failed: 0 };

  const handle = async (req: RecordedRequest, res: ServerResponse): Promise<void> => {
    const b = behaviorFor(behavior, req);
    if (req.method !== 'POST' || req.url.split('?')[0] !== '/v1/messages') {
      sendJson(res, 404, errorBody(`no route ${req.method} ${req.url}`, 'not_found_error'));
      return;
    }
    if (b.apiKey !== undefined && req.headers['x-api-key'] !== b.apiKey) {
      sendJson(res, 401, errorBody('invalid x-api-key', 'authentication_error'));
      return;
    }
    if (req.headers['anthropic-version'] === undefined) {
      sendJson(res, 400, errorBody('anthropic-version header is required', 'invalid_request_error'));
      return;
    }
    const body = req.body as { model?: unknown; stream?: unknown; max_tokens?: unknown } | undefined;
    if (body === undefined || typeof body.max_tokens !== 'number') {
      sendJson(res, 400, errorBody('max_tokens: Field required', 'invalid_request_error'));
      return;
    }
    if (typeof body.model !== 'string' || body.model === '') {
      sendJson(res, 400, errorBody('model: Field required', 'invalid_request_error'));
      return;
    }
    // As Anthropic does (litellm#3286): a whitespace-only stop sequence is a 400.
    const stops = (body as { stop_sequences?: unknown }).stop_sequences;
    if (Array.isArray(stops) && stops.some((x) => typeof x === 'string' && x.trim() === '')) {
      sendJson(res, 400, errorBody('stop_sequences: each stop sequence must contain non-whitespace', 'invalid_request_error'));
      return;
    }
    // As Anthropic does (litellm#10106): a user_id that looks like an email address is a 400.
    const userId = (body as { metadata?: { user_id?: unknown } }).metadata?.user_id;
    if (typeof userId === 'string' && /@/.test(userId)) {
      sendJson(res, 400, errorBody('metadata.user_id: user_id appears to contain an email address. Please send a uuid or hash value instead.', 'invalid_request_error'));
      return;
    }
    // As Anthropic does: a tool's input_schema must say type "object".
    const tools = (body as { tools?: unknown }).tools;
    const untyped = Array.isArray(tools) ? (tools as Array<{ type?: unknown; input_schema?: { type?: unknown } }>).findIndex((t) => t.type === undefined && t.input_schema?.type !== 'object') : -1;
    if (untyped >= 0) {
      sendJson(res, 400, errorBody(`tools.${untyped}.custom.input_schema.type: Field required`, 'invalid_request_error'));
      return;
    }
    // As Anthropic does: a message whose text blocks are all empty or whitespace is a 400.
    if (blankTextMessage((body as { messages?: unknown }).messages)) {
      sendJson(res, 400, errorBody('messages: text content blocks must contain non-whitespace text', 'invalid_request_error'));
      return;
    }
    // As Anthropic does: an image it cannot take (another media type, a url source that is not http(s)) is a 400.
    const badImage = imageProblem((body as { messages?: unknown }).messages);
    if (badImage !== undefined) {
      sendJson(res, 400, errorBody(badImage, 'invalid_request_error'));
      return;
    }
    // As Anthropic does (forgecode#1142, ClawRouter#17): a tool_use id or a tool_result's tool_use_id
    // outside ^[a-zA-Z0-9_-]+$ is a 400.
    const badToolId = toolIdProblem((body as { messages?: unknown }).messages);
    if (badToolId !== undefined) {
      sendJson(res, 400, errorBody(badToolId, 'invalid_request_error'));
      return;
    }
    if (await runPreamble(b, failures, req, res, (message, type) => errorBody(message, type))) return;
    const model = typeof body.model === 'string' ? body.model : 'claude-fake';
    if (body.stream === true) {
      const startError = takeStreamError(b, failures);
      if (startError !== undefined) {
        const opening = startError.afterOpening ? [messageEvents(b, req, model)[0]!, sse('ping', { type: 'ping' })] : [];
        await writeEvents(res, [...opening, sse('error', { type: 'error', error: { type: startError.type ?? 'overloaded_error', message: startError.message ?? 'Overloaded' } })], b, startError.headers);
        return;
      }
      const events = messageEvents(b, req, model);
      if (b.rawEvent !== undefined) events.splice(b.rawEvent.after, 0, b.rawEvent.event);
      const cut = b.errorEventAfterChunks;
      if (cut !== undefined) {
        const errorEvent = sse('error', { type: 'error', error: { type: 'overloaded_error', message: b.errorEventMessage ?? 'Overloaded' } });
        await writeEvents(res, [...events.slice(0, cut), errorEvent], b);
      } else {
        await writeEvents(res, events, b);
      }
      return;
    }
    sendJson(res, 200, JSON.stringify(message(b, replyText(b, req), model)));
  };

  const server = await startRecordingServer(handle, record !== undefined ? { record } : {});
  return {
    url: server.origin,
    port: server.port,
    requests: server.requests,
    stats: server.stats,
    setBehavior(patch) {
      behavior = mergeBehavior(patch);
      failures = { failed: 0 };
    },
    close: () => server.close(),
  };
}

function toolIdProblem(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (const [i, m] of (messages as Array<{ content?: unknown }>).entries()) {
    if (!Array.isArray(m.content)) continue;
    for (const [j, block] of (m.content as Array<{ type?: unknown; id?: unknown; tool_use_id?: unknown }>).entries()) {
      const [field, id] = block.type === 'tool_use' ? ['tool_use.id', block.id] : block.type === 'tool_result' ? ['tool_result.tool_use_id', block.tool_use_id] : [null, undefined];
      if (field !== null && (typeof id !== 'string' || !/^[a-zA-Z0-9_-]+$/.test(id))) return `messages.${i}.content.${j}.${field}: String should match pattern '^[a-zA-Z0-9_-]+$'`;
    }
  }
  return undefined;
}

function blankTextMessage(messages: unknown): boolean {
  if (!Array.isArray(messages)) return false;
  return (messages as Array<{ content?: unknown }>).some((m) => {
    if (typeof m.content === 'string') return m.content.trim() === '';
    if (!Array.isArray(m.content)) return false;
    // A tool_result whose content is an empty string is refused too (zed#27130).
    if ((m.content as Array<{ type?: unknown; content?: unknown }>).some((b) => b.type === 'tool_result' && b.content === '')) return true;
    const texts = (m.content as Array<{ type?: unknown; text?: unknown }>).filter((b) => b.type === 'text');
    return texts.length > 0 && texts.every((b) => typeof b.text === 'string' && b.text.trim() === '');
  });
}

function imageProblem(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (const m of messages as Array<{ content?: unknown }>) {
    if (!Array.isArray(m.content)) continue;
    for (const block of m.content as Array<{ type?: unknown; source?: { type?: unknown; media_type?: unknown; url?: unknown } }>) {
      if (block.type !== 'image') continue;
      const src = block.source ?? {};
      if (src.type === 'base64' && !['image/jpeg', 'image/png', 'image/gif', 'image/webp'].includes(String(src.media_type))) {
        return "image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'";
      }
      if (src.type === 'url' && !/^https?:\/\//.test(String(src.url))) return 'image.source.url: must be an http(s) URL';
    }
  }
  return undefined;
}

function errorBody(message: string, type: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function toolBlocks(b: FakeBehavior): Array<Record<string, unknown>> {
  return (b.toolCalls ?? []).map((c, i) => ({
    type: 'tool_use',
    id: c.id ?? `toolu_fake_${i}`,
    name: c.name,
    input: JSON.parse(c.arguments) as unknown,
  }));
}

function message(b: FakeBehavior, text: string, model: string): Record<string, unknown> {
  const content = [...(text !== '' ? [{ type: 'text', text }] : []), ...toolBlocks(b)];
  return {
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: b.toolCalls ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: 'wireUsage' in b ? b.wireUsage : { input_tokens: b.usage.prompt_tokens, output_tokens: b.usage.completion_tokens },
  };
}

function messageEvents(b: FakeBehavior, req: RecordedRequest, model: string): string[] {
  const start = { ...message(b, '', model), content: [], stop_reason: null, usage: 'wireUsage' in b ? b.wireUsage : { input_tokens: b.usage.prompt_tokens, output_tokens: 1 } };
  const events = [sse('message_start', { type: 'message_start', message: start })];
  let index = 0;
  const text = replyText(b, req);
  if (text !== '') {
    events.push(sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    events.push(sse('ping', { type: 'ping' }));
    for (const piece of splitText(text, b.chunks)) {
      events.push(sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }));
    }
    events.push(sse('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  }
  (b.toolCalls ?? []).forEach((c, i) => {
    const block = { type: 'tool_use', id: c.id ?? `toolu_fake_${i}`, name: c.name, input: {} };
    events.push(sse('content_block_start', { type: 'content_block_start', index, content_block: block }));
    // A call with no input streams one empty partial_json, as Anthropic does (its input is the block's `{}`).
    const pieces = c.arguments.trim() === '{}' ? [''] : splitText(c.arguments, 2);
    for (const piece of pieces) {
      events.push(
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } }),
      );
    }
    events.push(sse('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  });
  events.push(
    sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: b.toolCalls ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: 'wireUsage' in b ? b.wireUsage : { output_tokens: b.usage.completion_tokens },
    }),
  );
  events.push(sse('message_stop', { type: 'message_stop' }));
  return events;
}
