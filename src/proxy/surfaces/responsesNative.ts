import type { InputShift } from '../clientParam.js';
import type { ChatCompletionRequest, ChatMessage } from '../../schemas/openai.js';
import type { ResponsesRequest } from '../../schemas/responses.js';
import { type FieldProblem, UpstreamError } from '../../shared/errors.js';
import { toolNameProblem } from '../../providers/toolNames.js';
import { SseParser } from '../../providers/sseParser.js';
import { systemText, turnsAfterSystem } from '../injection.js';
import { isRecord } from './chatChunks.js';
import { type NativeSummary, summaryOfResponse } from './nativeSummary.js';
import { hasInstructions } from './responsesRequest.js';
import { includeForStatelessReasoning, withoutUnsendableReasoning } from './encryptedReasoning.js';

/**
 * A function tool whose name OpenAI's Responses API refuses (providers/toolNames.ts), or a
 * `function_call` item of the conversation naming one: its 400 came after the rollout was recorded.
 * Built-in tools have names OpenAI fixes itself.
 */
export function responsesToolNameProblems(original: ResponsesRequest): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const check = (name: unknown, path: string): void => {
    const problem = typeof name === 'string' ? toolNameProblem(name, 'openai_responses') : null;
    if (problem !== null) problems.push({ path, message: problem });
  };
  (original.tools ?? []).forEach((tool, i) => {
    if (isRecord(tool) && tool.type === 'function') check(tool.name, `tools.${i}.name`);
  });
  if (Array.isArray(original.input)) {
    original.input.forEach((item, i) => {
      if (item.type === 'function_call') check((item as { name?: unknown }).name, `input.${i}.name`);
    });
  }
  return problems;
}

/**
 * The Responses surface with an upstream that speaks Responses (OpenAI): the client's body goes
 * upstream as written, except what the internal call decided (the system text into `instructions`,
 * turns inserted after it at the head of `input`, the forced model, temperature and token limit).
 * The answer is relayed as written, except its echo of `instructions`, which would show the
 * candidate's text: it is put back to the client's own.
 */
export function nativeResponsesBody(client: ResponsesRequest, internal: ChatCompletionRequest, injected: ChatCompletionRequest, changed: boolean): Record<string, unknown> {
  // Reasoning items OpenAI cannot take under store: false are left out (encryptedReasoning.ts).
  const original = withoutUnsendableReasoning(client);
  const { mipro: _ours, ...rest } = original;
  const body: Record<string, unknown> = { ...rest, model: injected.model, store: false };
  // A reasoning call gets no temperature: OpenAI's reasoning models refuse any but their default.
  if (injected.temperature != null && original.temperature == null && original.reasoning == null) body.temperature = injected.temperature;
  const limit = injected.max_completion_tokens ?? injected.max_tokens;
  if (limit != null) body.max_output_tokens = responsesLimit(limit, original.max_output_tokens);
  const include = includeForStatelessReasoning(client);
  if (include !== undefined) body.include = include;
  if (!changed) return body;
  const text = systemText(injected.messages);
  // A string `input` stays a string unless turns are inserted: the rest of the body goes as written.
  let input: ResponsesRequest['input'] = original.input;
  // The system text goes back where the client put it: `instructions`, or its first system/developer
  // input item (the Vercel AI SDK's way), or `instructions` when the call had none.
  const own = hasInstructions(original) || systemText(internal.messages) === null || !Array.isArray(input)
    ? -1
    : input.findIndex(isSystemItem);
  if (text !== null && own >= 0 && Array.isArray(input)) {
    input = input.map((item, i) => (i === own ? { ...(item as Record<string, unknown>), content: text } : item)) as typeof input;
  } else if (text !== null) body.instructions = text;
  const inserted = turnsAfterSystem(injected.messages).slice(0, insertedCount(internal, injected)).map(itemOf);
  if (inserted.length > 0) {
    // After the system/developer items that open `input`, as on the chat path (withDemoTurns).
    const items: unknown[] = typeof input === 'string' ? [{ role: 'user', content: input }] : [...(input ?? [])];
    const at = leadingSystemItems(items);
    input = [...items.slice(0, at), ...inserted, ...items.slice(at)] as typeof input;
  }
  // A call sent without input goes without it (a stored prompt's own input is OpenAI's to fill).
  if (input !== undefined) body.input = input;
  return body;
}

/** OpenAI's Responses API refuses a `max_output_tokens` below this ("integer below minimum value. Expected a value >= 16"). */
export const MIN_RESPONSES_OUTPUT_TOKENS = 16;

/**
 * The `max_output_tokens` a native call goes with. A limit the job set (its policy's
 * `max_completion_tokens` as the default, or as the clamp of the client's larger one) below OpenAI's
 * floor goes as the floor: chat completions take a 5-token cap (a classifier's), Responses refuse it,
 * and every Responses call of such a job was a 400. The client's own value goes as sent.
 */
function responsesLimit(limit: number, own: number | null | undefined): number {
  return limit < MIN_RESPONSES_OUTPUT_TOKENS && limit !== own ? MIN_RESPONSES_OUTPUT_TOKENS : limit;
}

/** Where nativeResponsesBody put the demo turns in `input` (null: it inserted none). */
export function nativeResponsesInputShift(client: ResponsesRequest, internal: ChatCompletionRequest, injected: ChatCompletionRequest, changed: boolean): InputShift | null {
  const count = changed ? insertedCount(internal, injected) : 0;
  if (count === 0) return null;
  const input = withoutUnsendableReasoning(client).input;
  return typeof input === 'string' ? { at: 0, count, wasString: true } : { at: leadingSystemItems(input ?? []), count, wasString: false };
}

function isSystemItem(item: unknown): boolean {
  return isRecord(item) && (item.type ?? 'message') === 'message' && (item.role === 'system' || item.role === 'developer');
}

function leadingSystemItems(input: readonly unknown[]): number {
  let at = 0;
  while (at < input.length && isSystemItem(input[at])) at++;
  return at;
}

/** How many turns injection put after the system text (demos): the difference in conversation length. */
export function insertedCount(internal: ChatCompletionRequest, injected: ChatCompletionRequest): number {
  return Math.max(0, turnsAfterSystem(injected.messages).length - turnsAfterSystem(internal.messages).length);
}

function itemOf(m: ChatMessage): Record<string, unknown> {
  return { role: m.role, content: typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => ({ type: m.role === 'assistant' ? 'output_text' : 'input_text', text: p.text ?? '' })) };
}

/**
 * A native JSON answer with the client's `instructions` put back, and its summary. The answer is
 * parsed once (the summary and the item cache need it) but, as a rule, not re-serialised: the echo
 * is replaced at string level, or the answer is relayed as written when it already echoes the
 * client's own text (a call whose system text injection left alone).
 */
export function nativeResponsesJson(raw: string, instructions: string | null): { out: string; summary: NativeSummary; response: unknown } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new UpstreamError(`upstream returned a body that is not JSON: ${raw.slice(0, 200)}`, { status: 502 });
  }
  if (!isRecord(value) || value.object !== 'response') throw new UpstreamError('upstream returned something that is not a Responses response', { status: 502 });
  const out = withInstructionsEcho(raw, value.instructions, instructions) ?? JSON.stringify({ ...value, instructions });
  return { out, summary: summaryOfResponse(value), response: value };
}

const INSTRUCTIONS_KEY = /"instructions"\s*:\s*/g;

/**
 * `json` (a response object, or an event carrying one) with its `instructions` value set to `to`,
 * without parsing it: when the key occurs exactly once (so it is the response's own) and holds
 * `from` or already `to`, serialised as JSON.stringify would. Null otherwise (an upstream that
 * escapes differently, no echo, a nested key of the same name): the caller parses and re-serialises.
 * A JSON string cannot hold an unescaped `"`, so the key pattern never matches inside a value.
 */
export function withInstructionsEcho(json: string, from: unknown, to: string | null): string | null {
  if (typeof from !== 'string' && from !== null) return null;
  let end = -1;
  INSTRUCTIONS_KEY.lastIndex = 0;
  for (let m = INSTRUCTIONS_KEY.exec(json); m !== null; m = INSTRUCTIONS_KEY.exec(json)) {
    if (end >= 0) return null;
    end = m.index + m[0].length;
  }
  if (end < 0) return null;
  const target = JSON.stringify(to);
  if (json.startsWith(target, end)) return json;
  const source = JSON.stringify(from);
  if (!json.startsWith(source, end)) return null;
  return json.slice(0, end) + target + json.slice(end + source.length);
}

/**
 * Relays a native Responses event stream, event by event (the transport cut it on event
 * boundaries), with `instructions` put back in the events that carry the response object, and
 * keeps the final response for the record. `complete` says whether a terminal event arrived;
 * `failed`, whether the upstream reported a failure (an `error` event or `response.failed`).
 * Until the terminal event, the `response.output_text.delta` events are kept as they came, so a
 * stream cut short (the client left, the upstream broke) is recorded with the text that went out,
 * as on the other surfaces; they are parsed only then, and let go once the final response arrives.
 */
export class NativeResponsesRelay {
  private readonly parser = new SseParser();
  private final: unknown = undefined;
  private deltas: string[] = [];
  complete = false;
  failed = false;
  /** Events relayed so far (OpenAI numbers them from 0, so this is the next sequence number). */
  events = 0;

  /**
   * `instructions`: the client's own, put back in every echo. `sent`: what the upstream body carried
   * in `instructions` (what it will echo), so events before the terminal one are rewritten at string
   * level without being parsed (the first byte waits on `response.created`).
   */
  constructor(private readonly instructions: string | null, private readonly sent: string | null = instructions) {}

  push(chunk: Uint8Array): string {
    let out = '';
    for (const ev of this.parser.push(chunk)) out += this.onEvent(ev.event, ev.data);
    return out;
  }

  end(): string {
    let out = '';
    for (const ev of this.parser.end()) out += this.onEvent(ev.event, ev.data);
    return out;
  }

  summary(): NativeSummary {
    if (this.final !== undefined) return summaryOfResponse(this.final);
    return { text: partialText(this.deltas), usage: undefined, toolCalls: [] };
  }

  /** The terminal event's response object (undefined until it arrived). */
  get finalResponse(): unknown {
    return this.final;
  }

  private onEvent(name: string | undefined, data: string): string {
    this.events++;
    const head = name !== undefined ? `event: ${name}\n` : '';
    if (name === 'error' || data.startsWith('{"type":"error"')) this.failed = true;
    if (!this.complete && data.includes('response.output_text.delta')) this.deltas.push(data);
    if (!data.includes('"response"')) return `${head}data: ${data}\n\n`;
    // Only a terminal event is parsed (its response is the record's); others are rewritten as text.
    const terminal = data.includes('response.completed') || data.includes('response.incomplete') || data.includes('response.failed');
    if (!terminal) {
      const rewritten = withInstructionsEcho(data, this.sent, this.instructions);
      if (rewritten !== null) return `${head}data: ${rewritten}\n\n`;
    }
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return `${head}data: ${data}\n\n`;
    }
    if (!isRecord(value) || !isRecord(value.response)) return `${head}data: ${data}\n\n`;
    if (value.type === 'response.completed' || value.type === 'response.incomplete' || value.type === 'response.failed') {
      this.final = value.response;
      this.complete = true;
      this.deltas = [];
      if (value.type === 'response.failed') this.failed = true;
    }
    const out = withInstructionsEcho(data, value.response.instructions, this.instructions)
      ?? JSON.stringify({ ...value, response: { ...value.response, instructions: this.instructions } });
    return `${head}data: ${out}\n\n`;
  }
}

/** The text of the `response.output_text.delta` events of a stream cut before its terminal event. */
function partialText(events: readonly string[]): string {
  let text = '';
  for (const data of events) {
    try {
      const value: unknown = JSON.parse(data);
      if (isRecord(value) && value.type === 'response.output_text.delta' && typeof value.delta === 'string') text += value.delta;
    } catch {
      // not an event of the answer's text
    }
  }
  return text;
}
