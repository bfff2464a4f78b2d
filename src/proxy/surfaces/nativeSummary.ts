import type { ToolCallSummary } from '../../providers/completionSummary.js';
import type { Usage } from '../../schemas/openai.js';
import { isRecord } from './chatChunks.js';

/**
 * What a rollout record keeps of an answer a native upstream wrote in its own protocol: the same
 * summary (text with tool calls rendered as `name(arguments)` lines, usage in chat-completions
 * counts) as for a chat answer, so records and usage accounting read one shape whatever the surface.
 */
export interface NativeSummary {
  text: string;
  usage: Usage | undefined;
  toolCalls: ToolCallSummary[];
}

export function renderSummaryText(text: string, calls: readonly ToolCallSummary[]): string {
  const rendered = calls.map((c) => `${c.name}(${c.arguments})`).join('\n');
  if (rendered === '') return text;
  return text === '' ? rendered : `${text}\n${rendered}`;
}

/** A Responses `response` object's output items and usage. */
export function summaryOfResponse(response: unknown): NativeSummary {
  if (!isRecord(response)) return { text: '', usage: undefined, toolCalls: [] };
  let text = '';
  const toolCalls: ToolCallSummary[] = [];
  for (const item of Array.isArray(response.output) ? response.output : []) {
    if (!isRecord(item)) continue;
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content) {
        if (!isRecord(part)) continue;
        if (typeof part.text === 'string') text += part.text;
        else if (part.type === 'refusal' && typeof part.refusal === 'string') text += part.refusal; // the model's answer too
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({
        id: typeof item.call_id === 'string' ? item.call_id : undefined,
        name: typeof item.name === 'string' ? item.name : '',
        arguments: typeof item.arguments === 'string' ? item.arguments : '',
      });
    }
  }
  const u = isRecord(response.usage) ? response.usage : undefined;
  const usage = u === undefined ? undefined : {
    prompt_tokens: num(u.input_tokens),
    completion_tokens: num(u.output_tokens),
    total_tokens: typeof u.total_tokens === 'number' ? u.total_tokens : num(u.input_tokens) + num(u.output_tokens),
  };
  return { text: renderSummaryText(text, toolCalls), usage, toolCalls };
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
