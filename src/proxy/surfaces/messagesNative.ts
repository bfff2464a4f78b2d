import type { MessagesRequest } from '../../schemas/messages.js';
import type { ChatCompletionRequest, ChatMessage } from '../../schemas/openai.js';
import { extractCompletionSummary, StreamAccumulator } from '../../providers/completionSummary.js';
import { parseAnthropicMessage, toChatCompletion } from '../../providers/anthropicResponse.js';
import { AnthropicStreamTranslator } from '../../providers/anthropicStream.js';
import { SseParser } from '../../providers/sseParser.js';
import { systemText, turnsAfterSystem } from '../injection.js';
import type { NativeSummary } from './nativeSummary.js';
import { messagesSystemText } from './messagesRequest.js';
import { insertedCount } from './responsesNative.js';

/**
 * The Messages surface with an upstream that speaks Messages (Anthropic): the client's body goes
 * upstream as written, except what the internal call decided (the system text into `system`, turns
 * inserted at the head of `messages`, the forced model, temperature and token limit). Answers are
 * relayed unchanged; the record's summary reads them through the provider's own translation to chat.
 */
export function nativeMessagesBody(original: MessagesRequest, internal: ChatCompletionRequest, injected: ChatCompletionRequest, changed: boolean): Record<string, unknown> {
  const { mipro: _ours, ...rest } = original;
  const body: Record<string, unknown> = { ...rest, model: injected.model };
  // Anthropic's temperature scale is 0..1; a policy's 0..2 value is clamped like the chat translation does.
  if (original.temperature === undefined && injected.temperature != null) body.temperature = Math.min(1, injected.temperature);
  const limit = injected.max_tokens ?? injected.max_completion_tokens;
  if (limit != null) body.max_tokens = limit;
  if (!changed) return body;
  const text = systemText(injected.messages);
  // The client's own blocks (and their cache_control) stay when the text is what it sent, as for a
  // candidate that changes only the demos; a new text goes as a string.
  if (text !== null && text !== messagesSystemText(original.system)) body.system = text;
  const inserted = turnsAfterSystem(injected.messages).slice(0, insertedCount(internal, injected));
  if (inserted.length > 0) body.messages = [...inserted.map(turnOf), ...original.messages];
  return body;
}

function turnOf(m: ChatMessage): Record<string, unknown> {
  const text = typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text ?? '').join('');
  return { role: m.role === 'assistant' ? 'assistant' : 'user', content: text };
}

export function nativeMessagesSummary(raw: string): NativeSummary {
  const s = extractCompletionSummary(toChatCompletion(parseAnthropicMessage(raw), 0));
  return { text: s.text, usage: s.usage, toolCalls: s.toolCalls };
}

/** Reads a relayed Anthropic event stream for the record, through the provider's chat translation. */
export class NativeMessagesTap {
  private readonly parser = new SseParser();
  private readonly translator = new AnthropicStreamTranslator({ includeUsage: true, createdSec: 0, model: '' });
  private readonly acc = new StreamAccumulator();
  private failed = false;

  get complete(): boolean {
    return this.translator.complete;
  }

  /** The upstream sent an `error` event: the client already has it, in Anthropic's own words. */
  get sawError(): boolean {
    return this.failed;
  }

  push(chunk: Uint8Array | string): void {
    this.feed(this.parser.push(chunk));
  }

  end(): void {
    this.feed(this.parser.end());
    this.acc.end();
  }

  summary(): NativeSummary {
    const s = this.acc.summary();
    return { text: s.text, usage: s.usage, toolCalls: s.toolCalls };
  }

  private feed(events: ReturnType<SseParser['push']>): void {
    for (const ev of events) {
      if (this.failed || this.translator.complete) return;
      try {
        this.acc.push(this.translator.onEvent(ev));
      } catch {
        this.failed = true; // an error event: the client got it as Anthropic wrote it
      }
    }
  }
}
