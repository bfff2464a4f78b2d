import { UsageSchema, type ChatCompletion, type Usage } from '../schemas/openai.js';
import type { CompletionSummary } from './types.js';
import { SseParser } from './sseParser.js';

/**
 * What a rollout record and the proposer need from an answer: the assistant text, the tool calls
 * (many tasks answer only with a tool call, e.g. a classifier), and token usage. Tool calls are also
 * rendered into `text` as `name(arguments)` lines, so a reader of `text` alone sees the real output.
 */
export interface ToolCallSummary {
  id: string | undefined;
  name: string;
  arguments: string;
}

export interface StreamSummary extends CompletionSummary {
  toolCalls: ToolCallSummary[];
  finishReason: string | undefined;
  /** The stream ended with `data: [DONE]`. */
  done: boolean;
  id: string | undefined;
  model: string | undefined;
}

export function extractCompletionSummary(json: ChatCompletion): CompletionSummary & { toolCalls: ToolCallSummary[] } {
  const message = json.choices[0]?.message;
  const toolCalls = (message?.tool_calls ?? []).map(readToolCall);
  return {
    // A refusal (content null) is what the model answered: the record keeps it as the call's output.
    text: renderText((message?.content ?? '') + (message?.refusal ?? ''), toolCalls),
    usage: json.usage ?? undefined,
    toolCalls,
  };
}

/**
 * Collects a summary from OpenAI `chat.completion.chunk` SSE bytes while they are relayed: feed it
 * every piece of the body (`push`), call `end()` when the body ends, read `summary()`.
 * Only choice 0 is summarised; malformed or foreign events are skipped, never thrown.
 */
export class StreamAccumulator {
  private readonly parser = new SseParser();
  private readonly textParts: string[] = [];
  /** Every call in order of arrival, with its chat index. */
  private readonly calls: { index: number; call: ToolCallSummary }[] = [];
  /** The call each index names now. */
  private readonly openCalls = new Map<number, ToolCallSummary>();
  private usage: Usage | undefined;
  private finishReason: string | undefined;
  private done = false;
  private errored = false;
  private id: string | undefined;
  private model: string | undefined;

  push(chunk: Uint8Array | string): void {
    for (const ev of this.parser.push(chunk)) this.onData(ev.data);
  }

  end(): void {
    for (const ev of this.parser.end()) this.onData(ev.data);
  }

  /** The stream's `data: [DONE]` came: the answer is whole. */
  get sawDone(): boolean {
    return this.done;
  }

  /** The stream carried an error event (`data: {"error":{...}}`) before any [DONE]: the answer failed. */
  get sawError(): boolean {
    return this.errored;
  }

  summary(): StreamSummary {
    // A stable sort: calls that shared an index keep the order they came in.
    const toolCalls = [...this.calls].sort((a, b) => a.index - b.index).map((c) => c.call);
    return {
      text: renderText(this.textParts.join(''), toolCalls),
      usage: this.usage,
      toolCalls,
      finishReason: this.finishReason,
      done: this.done,
      id: this.id,
      model: this.model,
    };
  }

  private onData(data: string): void {
    // The answer ended at [DONE]; what a server sends after it is not part of it (the translated
    // surfaces stop there too).
    if (this.done) return;
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return;
    }
    // Read with guards rather than ChatCompletionChunkSchema: this runs for every token of every
    // relayed stream, and the schema costs more than the JSON parse (measured ~4 µs per chunk).
    if (!isRecord(value)) return;
    if (isRecord(value.error)) this.errored = true;
    if (typeof value.id === 'string') this.id ??= value.id;
    if (typeof value.model === 'string') this.model ??= value.model;
    if (isRecord(value.usage)) {
      const usage = UsageSchema.safeParse(value.usage); // once per stream: the schema is affordable
      if (usage.success) this.usage = usage.data;
    }
    if (!Array.isArray(value.choices)) return;
    const choice: unknown = value.choices.find((c: unknown) => isRecord(c) && (c.index ?? 0) === 0);
    if (!isRecord(choice)) return;
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    const delta = choice.delta;
    if (!isRecord(delta)) return;
    if (typeof delta.content === 'string') this.textParts.push(delta.content);
    if (typeof delta.refusal === 'string') this.textParts.push(delta.refusal);
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as unknown[]) if (isRecord(call)) this.onToolCallDelta(call);
    }
  }

  /** Tool calls stream as deltas keyed by `index`: id and name once, arguments in pieces. */
  private onToolCallDelta(delta: Record<string, unknown>): void {
    const index = typeof delta.index === 'number' ? delta.index : 0;
    const fn = isRecord(delta.function) ? delta.function : {};
    const id = typeof delta.id === 'string' ? delta.id : undefined;
    let call = this.openCalls.get(index);
    if (call === undefined || startsAnotherCall(call.id, id)) {
      call = { id: undefined, name: '', arguments: '' };
      this.openCalls.set(index, call);
      this.calls.push({ index, call });
    }
    if (id !== undefined) call.id = id;
    if (typeof fn.name === 'string') call.name += fn.name;
    if (typeof fn.arguments === 'string') call.arguments += fn.arguments;
  }
}

/**
 * Whether a tool-call delta with `id` on an index whose call has `openId` starts another call. A chat
 * index names one call at a time, and some servers number every call 0: a different id is the next
 * call, not more of the last one (whose arguments would otherwise be glued to the next call's).
 * Without an id on either side the delta continues the call, as OpenAI sends its deltas.
 */
export function startsAnotherCall(openId: string | undefined, id: string | undefined): boolean {
  return openId !== undefined && id !== undefined && id !== openId;
}

function readToolCall(call: Record<string, unknown>): ToolCallSummary {
  const fn = isRecord(call.function) ? call.function : {};
  return {
    id: typeof call.id === 'string' ? call.id : undefined,
    name: typeof fn.name === 'string' ? fn.name : '',
    arguments: typeof fn.arguments === 'string' ? fn.arguments : '',
  };
}

function renderText(content: string, toolCalls: readonly ToolCallSummary[]): string {
  if (toolCalls.length === 0) return content;
  const rendered = toolCalls.map((c) => `${c.name}(${c.arguments})`).join('\n');
  return content.length > 0 ? `${content}\n${rendered}` : rendered;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}
