import type { ChatCompletion, Usage } from '../schemas/openai.js';
import { UpstreamError } from '../shared/errors.js';
import { AnthropicMessageSchema, type AnthropicMessage, type AnthropicUsage } from './anthropicWire.js';

/** Anthropic Messages answer -> OpenAI chat.completion. */

/** OpenAI's finish reasons for Anthropic's stop reasons. */
export function finishReasonFor(stopReason: string | null | undefined): string | null {
  switch (stopReason) {
    case undefined:
    case null:
      return null;
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * OpenAI counts every prompt token; Anthropic splits out cached ones. Cache reads are what OpenAI
 * calls cached tokens (`prompt_tokens_details.cached_tokens`), reported when Anthropic gave any.
 */
export function usageFor(u: AnthropicUsage | undefined | null): Usage {
  const cached = u?.cache_read_input_tokens ?? 0;
  const prompt = (u?.input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0) + cached;
  const completion = u?.output_tokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...(cached > 0 ? { prompt_tokens_details: { cached_tokens: cached } } : {}) };
}

export function parseAnthropicMessage(raw: string): AnthropicMessage {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new UpstreamError(`anthropic returned a body that is not JSON: ${raw.slice(0, 200)}`, { status: 502 });
  }
  const parsed = AnthropicMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpstreamError(
      `anthropic returned something that is not a message (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`,
      { status: 502 },
    );
  }
  return parsed.data;
}

export function toChatCompletion(msg: AnthropicMessage, createdSec: number): ChatCompletion {
  let text = '';
  const toolCalls: Array<Record<string, unknown>> = [];
  for (const block of msg.content) {
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id ?? `toolu_${toolCalls.length}`,
        type: 'function',
        function: { name: block.name ?? '', arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // thinking / redacted_thinking / server tool blocks have no chat-completions equivalent.
  }
  const message: ChatCompletion['choices'][number]['message'] = {
    role: 'assistant',
    content: text === '' && toolCalls.length > 0 ? null : text,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: msg.id,
    object: 'chat.completion',
    created: createdSec,
    model: msg.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonFor(msg.stop_reason) }],
    usage: usageFor(msg.usage),
  };
}
