import { UpstreamError } from '../../shared/errors.js';
import { SseParser } from '../../providers/sseParser.js';

/**
 * Reads an OpenAI chat-completions SSE stream as a sequence of small, typed steps, so the
 * Responses and Messages stream writers share one reading of it (and one notion of "complete").
 */
export type ChatStep =
  | { kind: 'meta'; id: string; model: string; created: number | undefined }
  | { kind: 'text'; text: string }
  /** A piece of the model's refusal (`delta.refusal`): the answer is a refusal, not text. */
  | { kind: 'refusal'; text: string }
  | { kind: 'tool_start'; index: number; id: string | undefined; name: string }
  | { kind: 'tool_args'; index: number; args: string }
  /** `matched`: the stop string that ended the answer, where the server names it (vLLM, SGLang: matchedStopOf). */
  | { kind: 'finish'; reason: string; matched: string | undefined }
  /** `cached` and `reasoning`: the usage's prompt_tokens_details.cached_tokens and completion_tokens_details.reasoning_tokens (0 without). */
  | { kind: 'usage'; prompt: number; completion: number; total: number; cached: number; reasoning: number }
  | { kind: 'done' };

export function stepsOfChunk(data: string, seenMeta: boolean): ChatStep[] {
  if (data === '[DONE]') return [{ kind: 'done' }];
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    throw new UpstreamError(`upstream sent an unreadable stream event: ${data.slice(0, 200)}`, { status: 502, code: 'upstream_stream_error' });
  }
  if (!isRecord(v)) return [];
  if (isRecord(v.error)) {
    const message = typeof v.error.message === 'string' ? v.error.message : 'upstream stream failed';
    // The provider's own type goes with it (an OpenAI-style error event): the Messages surface names
    // it in its error event's message, beside Anthropic's type for the status (errorMapping.ts).
    const type = typeof v.error.type === 'string' ? v.error.type : undefined;
    throw new UpstreamError(message, { status: 502, code: 'upstream_stream_error', upstreamApi: 'openai', ...(type !== undefined ? { upstreamType: type } : {}) });
  }
  const steps: ChatStep[] = [];
  if (!seenMeta && typeof v.id === 'string') {
    steps.push({ kind: 'meta', id: v.id, model: typeof v.model === 'string' ? v.model : '', created: typeof v.created === 'number' ? v.created : undefined });
  }
  const choice = Array.isArray(v.choices) ? (v.choices as unknown[]).find((c) => isRecord(c) && (c.index ?? 0) === 0) : undefined;
  if (isRecord(choice)) {
    const delta = isRecord(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '') steps.push({ kind: 'text', text: delta.content });
    if (typeof delta.refusal === 'string' && delta.refusal !== '') steps.push({ kind: 'refusal', text: delta.refusal });
    if (Array.isArray(delta.tool_calls)) {
      for (const raw of delta.tool_calls as unknown[]) {
        if (!isRecord(raw)) continue;
        const index = typeof raw.index === 'number' ? raw.index : 0;
        const fn = isRecord(raw.function) ? raw.function : {};
        if (typeof raw.id === 'string' || typeof fn.name === 'string') {
          steps.push({ kind: 'tool_start', index, id: typeof raw.id === 'string' ? raw.id : undefined, name: typeof fn.name === 'string' ? fn.name : '' });
        }
        if (typeof fn.arguments === 'string' && fn.arguments !== '') steps.push({ kind: 'tool_args', index, args: fn.arguments });
      }
    }
    if (typeof choice.finish_reason === 'string') steps.push({ kind: 'finish', reason: choice.finish_reason, matched: matchedStopOf(choice) });
  }
  if (isRecord(v.usage)) {
    const u = v.usage;
    const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
    const completion = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
    steps.push({
      kind: 'usage', prompt, completion, total: typeof u.total_tokens === 'number' ? u.total_tokens : prompt + completion,
      cached: usageDetail(u.prompt_tokens_details, 'cached_tokens'), reasoning: usageDetail(u.completion_tokens_details, 'reasoning_tokens'),
    });
  }
  return steps;
}

/**
 * The stop string that ended a chat answer, where the server says which: vLLM's `choices[].stop_reason`
 * (a string; a token id is a number) and SGLang's `matched_stop`. OpenAI says only `finish_reason: "stop"`.
 */
export function matchedStopOf(choice: unknown): string | undefined {
  if (typeof choice !== 'object' || choice === null) return undefined;
  const c = choice as { stop_reason?: unknown; matched_stop?: unknown };
  return typeof c.stop_reason === 'string' ? c.stop_reason : typeof c.matched_stop === 'string' ? c.matched_stop : undefined;
}

/** A count in a usage's details object (`prompt_tokens_details.cached_tokens` ...): 0 when absent. */
export function usageDetail(details: unknown, key: string): number {
  return isRecord(details) && typeof details[key] === 'number' ? details[key] : 0;
}

/** A writer of one surface's event stream from chat steps. `end` runs once the chat stream ended. */
export interface StreamWriter {
  onStep(step: ChatStep): string;
  /** Called when the chat stream ended; throws when it ended before its answer was finished. */
  end(): string;
}

/** The steps a surface renders itself; finish, usage and done are the tail every writer shares. */
export type ContentStep = Exclude<ChatStep, { kind: 'finish' | 'usage' | 'done' }>;
export type UsageStep = Extract<ChatStep, { kind: 'usage' }>;

/**
 * What every translated stream does alike: keep the finish reason and the usage (both come last in
 * a chat stream), complete once, on [DONE] or at the end of a stream that gave a finish reason (some
 * servers end without [DONE]; an answer with a finish reason is still whole), and fail a stream that
 * ended before its answer was finished.
 */
export abstract class TranslatedStreamWriter implements StreamWriter {
  protected finish: string | null = null;
  /** The stop string that ended the answer, when the server named it. */
  protected matchedStop: string | undefined;
  protected usage: UsageStep | null = null;
  protected done = false;

  onStep(step: ChatStep): string {
    // The answer is whole and its terminal event sent: nothing after it may add to it.
    if (this.done) return '';
    switch (step.kind) {
      case 'finish':
        this.finish = step.reason;
        this.matchedStop = step.matched;
        return '';
      case 'usage':
        this.usage = step;
        return '';
      case 'done':
        return this.completeOnce();
      default:
        return this.onContent(step);
    }
  }

  end(): string {
    if (this.done) return '';
    if (this.finish !== null) return this.completeOnce();
    throw new UpstreamError('upstream stream ended before the answer was finished', { status: 502, code: 'upstream_stream_error' });
  }

  /** The surface's events for one content step. */
  protected abstract onContent(step: ContentStep): string;

  /** The surface's closing events; runs once, with `done` already set. */
  protected abstract complete(): string;

  private completeOnce(): string {
    if (this.done) return '';
    this.done = true;
    return this.complete();
  }
}

/**
 * Translates a chat SSE byte stream through a writer, yielding each translated piece as soon as it
 * exists (tokens are not held back). Errors thrown by the reading or the writer end the generator
 * after what came before was delivered. `data: [DONE]` ends the answer: its terminal event is sent,
 * and whatever the source sends after it (more content, an error event, a broken connection) is
 * ignored. The proxy's source ends at [DONE] (proxy/chatStreamTap.ts drains the upstream's rest in
 * the background), so the client's stream does not wait on an upstream that stays open.
 */
export async function* translateChatStream(source: AsyncIterable<Uint8Array | string>, writer: StreamWriter): AsyncGenerator<string, void, undefined> {
  const parser = new SseParser();
  let seenMeta = false;
  let failure: unknown;
  let sawDone = false;
  const run = (events: readonly { data: string }[]): string => {
    let out = '';
    try {
      for (const ev of events) {
        for (const step of stepsOfChunk(ev.data, seenMeta)) {
          if (step.kind === 'meta') seenMeta = true;
          out += writer.onStep(step);
        }
        if (ev.data === '[DONE]') {
          sawDone = true;
          break;
        }
      }
    } catch (err) {
      failure = err;
    }
    return out;
  };
  try {
    for await (const chunk of source) {
      if (sawDone) continue;
      const out = run(parser.push(chunk));
      if (out !== '') yield out;
      if (failure !== undefined) throw failure;
    }
  } catch (err) {
    if (!sawDone) throw err;
  }
  if (sawDone) return;
  const tail = run(parser.end());
  if (tail !== '') yield tail;
  if (failure !== undefined) throw failure;
  const last = writer.end();
  if (last !== '') yield last;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
