import { describe, expect, it } from 'vitest';
import { parseCompletion } from '../../../src/providers/openaiCompatible.js';
import { parseAnthropicMessage, toChatCompletion } from '../../../src/providers/anthropicResponse.js';
import { usageOfCall } from '../../../src/store/usage.js';

/**
 * The proposer's spend reads `usage` from the provider's parsed answer (proposerSpend.ts): an answer
 * whose usage is unreadable must parse (it was a 502, and the proposal lost) and add a call with the
 * counts it could read.
 */
const answer = (usage: unknown) => JSON.stringify({ id: 'c', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }], usage });

describe('unreadable usage in a parsed answer', () => {
  it.each<[unknown, { promptTokens: number; completionTokens: number; totalTokens: number }]>([
    [{ prompt_tokens: 'x', completion_tokens: 7 }, { promptTokens: 0, completionTokens: 7, totalTokens: 7 }],
    [{ prompt_tokens: null, completion_tokens: null, total_tokens: null }, { promptTokens: 0, completionTokens: 0, totalTokens: 0 }],
    ['x', { promptTokens: 0, completionTokens: 0, totalTokens: 0 }],
    [[1, 2], { promptTokens: 0, completionTokens: 0, totalTokens: 0 }],
    [null, { promptTokens: 0, completionTokens: 0, totalTokens: 0 }],
  ])('chat completion usage %j', (usage, counts) => {
    const parsed = parseCompletion(answer(usage));
    expect(parsed.choices[0]?.message.content).toBe('ok');
    expect(usageOfCall(parsed.usage ?? null, false)).toEqual({ ...counts, calls: 1 });
  });

  it('anthropic message usage with a mistyped count', () => {
    const raw = JSON.stringify({ id: 'm', model: 'c', content: [{ type: 'text', text: 'ok' }], usage: { input_tokens: 'x', output_tokens: 7 } });
    const chat = toChatCompletion(parseAnthropicMessage(raw), 0);
    expect(usageOfCall(chat.usage ?? null, false)).toEqual({ promptTokens: 0, completionTokens: 7, totalTokens: 7, calls: 1 });
  });
});
