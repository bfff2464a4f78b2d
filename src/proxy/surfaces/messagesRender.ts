import { matchedStopOf, usageDetail } from './chatChunks.js';
import type { ChatCompletion, Usage } from '../../schemas/openai.js';
import type { ToolCallSummary } from '../../providers/completionSummary.js';

/** Chat completion -> Anthropic Messages `message`, pure. */

/** Anthropic's stop reasons for OpenAI's finish reasons. */
export function stopReasonFor(finish: string | null | undefined): string {
  switch (finish) {
    case 'length': return 'max_tokens';
    case 'tool_calls':
    case 'function_call': return 'tool_use';
    case 'content_filter': return 'refusal';
    default: return 'end_turn';
  }
}

/**
 * Anthropic's `stop_reason` and `stop_sequence` for a chat answer. A stop on one of the client's
 * `stop_sequences` is `stop_sequence` with that sequence, as Anthropic says it (a client reads it to
 * tell a marker it asked for from a natural end); it is known only when the server names the matched
 * string (`matchedStopOf`), otherwise the answer says `end_turn`.
 */
export function messagesStop(finish: string | null | undefined, matched: string | undefined, stopSequences: readonly string[], refused: boolean): { stop_reason: string; stop_sequence: string | null } {
  if (refused) return { stop_reason: 'refusal', stop_sequence: null };
  if (finish === 'stop' && matched !== undefined && stopSequences.includes(matched)) return { stop_reason: 'stop_sequence', stop_sequence: matched };
  return { stop_reason: stopReasonFor(finish), stop_sequence: null };
}

export function messageId(upstreamId: string): string {
  const core = upstreamId.replace(/[^A-Za-z0-9_-]/g, '').replace(/^(chatcmpl|simcmpl|msg|resp)[-_]?/, '');
  return `msg_${core || 'miprox'}`;
}

/** Anthropic's usage object: the cache counts are always there (the SDK types them `number | null`, not optional). */
export interface MessagesUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  output_tokens: number;
}

/**
 * Chat usage as Anthropic reports it: cached prompt tokens (chat's `prompt_tokens_details.cached_tokens`)
 * are Anthropic's `cache_read_input_tokens`, which its `input_tokens` does not include. Chat reports no
 * cache writes: `cache_creation_input_tokens` is 0. Both are sent even when 0, as Anthropic does: left out,
 * a client adding them up (`input + cache_creation + cache_read`) got NaN.
 */
export function messagesUsage(u: Usage | null | undefined): MessagesUsage {
  const cached = usageDetail(u?.prompt_tokens_details, 'cached_tokens');
  const input = Math.max(0, (u?.prompt_tokens ?? 0) - cached);
  return { input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: cached, output_tokens: u?.completion_tokens ?? 0 };
}

/** Tool arguments are JSON text in chat completions and an object in Messages; unreadable text becomes {}. */
export function toolInput(args: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(args === '' ? '{}' : args);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function chatToMessage(c: ChatCompletion, toolCalls: readonly ToolCallSummary[], stopSequences: readonly string[] = []): Record<string, unknown> {
  const choice = c.choices[0];
  // A refusal comes in `refusal` with no content; Anthropic says it as text with stop_reason "refusal".
  const refusal = choice?.message.refusal ?? '';
  const text = (choice?.message.content ?? '') + refusal;
  const content: Array<Record<string, unknown>> = [];
  if (text !== '' || toolCalls.length === 0) content.push({ type: 'text', text });
  toolCalls.forEach((call, i) => content.push({ type: 'tool_use', id: call.id ?? `toolu_${i}`, name: call.name, input: toolInput(call.arguments) }));
  return {
    id: messageId(c.id),
    type: 'message',
    role: 'assistant',
    model: c.model ?? '',
    content,
    ...messagesStop(choice?.finish_reason, matchedStopOf(choice), stopSequences, refusal !== ''),
    usage: messagesUsage(c.usage),
  };
}
