import type { Usage } from '../schemas/openai.js';
import { UpstreamError } from '../shared/errors.js';
import { AnthropicStreamEventSchema, type AnthropicStreamEvent, type AnthropicUsage } from './anthropicWire.js';
import { finishReasonFor, usageFor } from './anthropicResponse.js';
import { SseParser, type SseEvent } from './sseParser.js';
import { sseData } from './sse.js';

/**
 * Anthropic Messages SSE -> OpenAI `chat.completion.chunk` SSE, event by event, so the client sees
 * tokens as Anthropic produces them. A stream that ends without `message_stop`, or carries an
 * `error` event, throws an UpstreamError: the proxy must never present a cut stream as complete.
 */
export interface StreamTranslationOptions {
  /** The request asked for `stream_options.include_usage`: emit OpenAI's final usage chunk. */
  includeUsage: boolean;
  createdSec: number;
  /** Used until message_start names the model. */
  model: string;
}

export class AnthropicStreamTranslator {
  private id = 'msg_unknown';
  private model: string;
  private inputUsage: AnthropicUsage | undefined;
  private outputTokens: number | undefined;
  /** Anthropic numbers content blocks; OpenAI numbers tool calls only. */
  private readonly toolIndexByBlock = new Map<number, number>();
  /**
   * Tool calls (chat index) whose arguments have no text yet. A call without input streams none
   * (its block's `input: {}`, then at most an empty partial_json): chat's arguments must still be
   * the JSON `{}`, as OpenAI sends them and the non-streamed translation gives (clients parse them).
   */
  private readonly toolsWithoutArguments = new Set<number>();
  private finished = false;

  constructor(private readonly opts: StreamTranslationOptions) {
    this.model = opts.model;
  }

  get complete(): boolean {
    return this.finished;
  }

  /** OpenAI SSE text for one Anthropic event (often empty: pings, block stops). */
  onEvent(ev: SseEvent): string {
    let value: unknown;
    try {
      value = JSON.parse(ev.data);
    } catch {
      value = undefined;
    }
    // Every Anthropic event is a JSON object. Anything else (`data: null`) is a broken stream, as the
    // native relay's framing (sseFraming.ts) and @anthropic-ai/sdk (which reads `.type` on it) take it.
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UpstreamError(`anthropic sent an unreadable stream event: ${ev.data.slice(0, 200)}`, {
        status: 502,
        code: 'upstream_stream_error',
      });
    }
    const parsed = AnthropicStreamEventSchema.safeParse(value);
    // Event types added after this was written are skipped, as Anthropic's versioning policy asks.
    return parsed.success ? this.translate(parsed.data) : '';
  }

  private translate(ev: AnthropicStreamEvent): string {
    switch (ev.type) {
      case 'message_start':
        this.id = ev.message.id;
        this.model = ev.message.model;
        this.inputUsage = ev.message.usage ?? undefined;
        return this.chunk({ role: 'assistant', content: '' }, null);
      case 'content_block_start': {
        const block = ev.content_block;
        if (block.type === 'tool_use') {
          const index = this.toolIndexByBlock.size;
          this.toolIndexByBlock.set(ev.index, index);
          const args = isNonEmptyObject(block.input) ? JSON.stringify(block.input) : '';
          if (args === '') this.toolsWithoutArguments.add(index);
          return this.chunk(
            { tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: args } }] },
            null,
          );
        }
        if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
          return this.chunk({ content: block.text }, null);
        }
        return '';
      }
      case 'content_block_delta': {
        const d = ev.delta;
        if (d.type === 'text_delta' && typeof d.text === 'string') return this.chunk({ content: d.text }, null);
        const index = this.toolIndexByBlock.get(ev.index);
        if (d.type === 'input_json_delta' && typeof d.partial_json === 'string' && index !== undefined) {
          if (d.partial_json === '') return '';
          this.toolsWithoutArguments.delete(index);
          return this.chunk({ tool_calls: [{ index, function: { arguments: d.partial_json } }] }, null);
        }
        return ''; // thinking / signature deltas have no chat-completions equivalent
      }
      case 'content_block_stop': {
        const index = this.toolIndexByBlock.get(ev.index);
        if (index === undefined || !this.toolsWithoutArguments.delete(index)) return '';
        return this.chunk({ tool_calls: [{ index, function: { arguments: '{}' } }] }, null);
      }
      case 'message_delta':
        if (typeof ev.usage?.output_tokens === 'number') this.outputTokens = ev.usage.output_tokens;
        // Only the counts it carries: one it sent unreadable leaves message_start's standing.
        if (typeof ev.usage?.input_tokens === 'number') this.inputUsage = { ...this.inputUsage, ...readCounts(ev.usage) };
        return this.chunk({}, finishReasonFor(ev.delta.stop_reason ?? null) ?? 'stop');
      case 'message_stop': {
        this.finished = true;
        const usage = this.opts.includeUsage ? sseData(JSON.stringify(this.usageChunk())) : '';
        return `${usage}data: [DONE]\n\n`;
      }
      case 'error':
        throw new UpstreamError(`anthropic stream failed: ${ev.error.message ?? 'unknown error'}`, {
          status: 502,
          code: 'upstream_stream_error',
          upstreamApi: 'anthropic',
          ...(ev.error.type !== undefined ? { upstreamType: ev.error.type } : {}),
        });
      default:
        return ''; // ping
    }
  }

  /** What Anthropic reported so far (message_start, then message_delta); undefined before message_start. */
  reportedUsage(): Usage | undefined {
    return this.inputUsage === undefined && this.outputTokens === undefined ? undefined : this.usage();
  }

  private usage(): Usage {
    return usageFor({ ...this.inputUsage, output_tokens: this.outputTokens ?? this.inputUsage?.output_tokens ?? 0 });
  }

  private usageChunk(): Record<string, unknown> {
    const { id, model } = this;
    return { id, object: 'chat.completion.chunk', created: this.opts.createdSec, model, choices: [], usage: this.usage() };
  }

  private chunk(delta: Record<string, unknown>, finishReason: string | null): string {
    return sseData(
      JSON.stringify({
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.opts.createdSec,
        model: this.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      }),
    );
  }
}

/** Translates a whole Anthropic byte stream, yielding OpenAI SSE bytes as each event completes. */
export async function* translateAnthropicStream(
  source: AsyncIterable<Uint8Array>,
  opts: StreamTranslationOptions,
  translator = new AnthropicStreamTranslator(opts),
): AsyncGenerator<Uint8Array, void, undefined> {
  const parser = new SseParser();
  const encoder = new TextEncoder();
  // After message_stop the rest is drained, not cut: ending the body cleanly keeps the socket alive.
  for await (const chunk of source) {
    if (translator.complete) continue;
    const out = translateAll(translator, parser.push(chunk));
    if (out.text !== '') yield encoder.encode(out.text);
    if (out.error !== undefined) throw out.error;
  }
  const tail = translateAll(translator, parser.end());
  if (tail.text !== '') yield encoder.encode(tail.text);
  if (tail.error !== undefined) throw tail.error;
  if (!translator.complete) {
    throw new UpstreamError('anthropic stream ended before message_stop', {
      status: 502,
      code: 'upstream_stream_error',
    });
  }
}

/** Translates events in order; on a failing event, what came before is still delivered first. */
function translateAll(t: AnthropicStreamTranslator, events: readonly SseEvent[]): { text: string; error: unknown } {
  let text = '';
  for (const ev of events) {
    if (t.complete) break;
    try {
      text += t.onEvent(ev);
    } catch (error) {
      return { text, error };
    }
  }
  return { text, error: undefined };
}

function isNonEmptyObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.keys(v).length > 0;
}

/** The counts of a usage that are numbers (once per stream: message_delta). */
function readCounts(u: AnthropicUsage): AnthropicUsage {
  return Object.fromEntries(Object.entries(u).filter(([, v]) => typeof v === 'number'));
}
