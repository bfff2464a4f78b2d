import type { MessagesRequest } from '../../schemas/messages.js';
import type { ChatCompletionRequest, ChatMessage } from '../../schemas/openai.js';
import { extractCompletionSummary, StreamAccumulator } from '../../providers/completionSummary.js';
import { parseAnthropicMessage, toChatCompletion } from '../../providers/anthropicResponse.js';
import { AnthropicStreamTranslator } from '../../providers/anthropicStream.js';
import { SseParser } from '../../providers/sseParser.js';
import { systemText, turnsAfterSystem } from '../injection.js';
import type { FieldProblem } from '../../shared/errors.js';
import type { NativeSummary } from './nativeSummary.js';
import { messagesSystemText } from './messagesRequest.js';
import { insertedCount } from './responsesNative.js';
import { toolNameProblem } from '../../providers/toolNames.js';

/**
 * The Messages surface with an upstream that speaks Messages (Anthropic): the client's body goes
 * upstream as written, except what the internal call decided (the system text into `system`, turns
 * inserted at the head of `messages`, the forced model, temperature and token limit). Answers are
 * relayed unchanged; the record's summary reads them through the provider's own translation to chat.
 */
export function nativeMessagesBody(original: MessagesRequest, internal: ChatCompletionRequest, injected: ChatCompletionRequest, changed: boolean, firstBlock = false): Record<string, unknown> {
  const { mipro: _ours, ...rest } = original;
  const body: Record<string, unknown> = { ...rest, model: injected.model };
  // Anthropic's temperature scale is 0..1; a policy's 0..2 value is clamped like the chat translation does.
  // With extended thinking (enabled or adaptive) Anthropic takes no temperature but 1: none is added.
  if (original.temperature === undefined && injected.temperature != null && !thinkingOn(original)) body.temperature = Math.min(1, injected.temperature);
  const limit = injected.max_tokens ?? injected.max_completion_tokens;
  if (limit != null) body.max_tokens = limit;
  if (!changed) return body;
  const text = systemText(injected.messages);
  // The client's own blocks (and their cache_control) stay when the text is what it sent, as for a
  // candidate that changes only the demos; a new text goes as a string, or as one block carrying the
  // client's cache_control when it cached its system prompt (prompt caching keeps working).
  if (firstBlock && Array.isArray(original.system)) {
    // Routed by its first block: the candidate's text is that block's, the others go as sent.
    if (text !== null && text !== original.system[0]!.text) body.system = withFirstBlock(original.system, text);
  } else if (text !== null && text !== messagesSystemText(original.system)) body.system = systemWithClientsCaching(original.system, text);
  const inserted = turnsAfterSystem(injected.messages).slice(0, insertedCount(internal, injected));
  if (inserted.length > 0) body.messages = [...inserted.map(turnOf), ...original.messages];
  return body;
}

/**
 * The client's blocks with the first one's text replaced, its other fields (a cache_control) and the
 * later blocks (a document and its cache_control) as sent. An empty text drops the block: Anthropic
 * refuses an empty text block.
 */
function withFirstBlock(system: readonly Record<string, unknown>[], text: string): Record<string, unknown>[] {
  return text === '' ? system.slice(1) : [{ ...system[0], text }, ...system.slice(1)];
}

function systemWithClientsCaching(system: MessagesRequest['system'], text: string): string | Record<string, unknown>[] {
  const cached = Array.isArray(system) ? system.findLast((b) => b.cache_control !== undefined) : undefined;
  return cached ? [{ type: 'text', text, cache_control: cached.cache_control }] : text;
}

function thinkingOf(original: MessagesRequest): { type?: unknown; budget_tokens?: unknown } | null {
  const thinking = (original as { thinking?: unknown }).thinking;
  return typeof thinking === 'object' && thinking !== null ? (thinking as { type?: unknown; budget_tokens?: unknown }) : null;
}

/** Extended thinking of any kind (`enabled`, `adaptive`, or one Anthropic adds later): anything but `disabled`. */
function thinkingOn(original: MessagesRequest): boolean {
  const thinking = thinkingOf(original);
  return thinking !== null && thinking.type !== 'disabled';
}

/**
 * Anthropic needs max_tokens above an enabled thinking budget (unless interleaved thinking, a beta,
 * lets the budget exceed it). The limit the upstream gets may be the job's cap (requestBody.ts
 * `limitSpend`), so say so before anything is dispatched, not as the upstream's 400.
 */
export function thinkingProblems(original: MessagesRequest, limit: number | null | undefined, betas: string): FieldProblem[] {
  const thinking = thinkingOf(original);
  const budget = thinking?.type === 'enabled' && typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : null;
  if (budget === null || limit === null || limit === undefined || budget < limit || betas.includes('interleaved-thinking')) return [];
  // Without the client's max_tokens the limit is the job's own, its cap.
  const capped = original.max_tokens === undefined || limit < original.max_tokens;
  return [{
    path: 'thinking.budget_tokens',
    message: `must be less than max_tokens (${limit})${capped ? `: this job caps a call at ${limit} tokens (policy.max_completion_tokens), so thinking needs a job with a higher cap or a smaller budget` : ''}`,
  }];
}

/**
 * A custom tool whose name Anthropic refuses (providers/toolNames.ts), or a `tool_use` block of the
 * conversation naming one: its 400 came after the rollout was recorded. Server tools (and their
 * `server_tool_use` blocks) have names Anthropic fixes itself, so only custom tools are checked.
 */
export function toolNameProblems(original: MessagesRequest): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const check = (name: unknown, path: string): void => {
    const problem = typeof name === 'string' ? toolNameProblem(name, 'anthropic') : null;
    if (problem !== null) problems.push({ path, message: problem });
  };
  (original.tools ?? []).forEach((tool, i) => {
    if (tool.type === undefined || tool.type === null || tool.type === 'custom') check(tool.name, `tools.${i}.name`);
  });
  original.messages.forEach((m, i) => {
    if (m.role !== 'assistant' || typeof m.content === 'string') return;
    m.content.forEach((block, j) => {
      if (block.type === 'tool_use') check(block.name, `messages.${i}.content.${j}.name`);
    });
  });
  return problems;
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
    // A stream cut before message_stop has no usage chunk, but Anthropic reported (and bills) what came before.
    return { text: s.text, usage: s.usage ?? this.translator.reportedUsage(), toolCalls: s.toolCalls };
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
