import { describe, expect, it } from 'vitest';
import { StreamAccumulator, extractCompletionSummary } from '../../../src/providers/sse.js';
import { ChatCompletionSchema } from '../../../src/schemas/openai.js';
import { cutBytes, readSseFixture } from '../../fixtures/fixtures.js';

function accumulate(bytes: Uint8Array, size: number): ReturnType<StreamAccumulator['summary']> {
  const acc = new StreamAccumulator();
  for (const piece of cutBytes(bytes, size)) acc.push(piece);
  acc.end();
  return acc.summary();
}

describe('extractCompletionSummary', () => {
  it('takes the assistant text and usage of choice 0', () => {
    const json = ChatCompletionSchema.parse({
      id: 'c1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'refund_request' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    });
    expect(extractCompletionSummary(json)).toEqual({
      text: 'refund_request',
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
      toolCalls: [],
    });
  });

  it('renders tool calls into the text when the answer is only a tool call', () => {
    const json = ChatCompletionSchema.parse({
      id: 'c2',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'classify', arguments: '{"intent":"x"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
    });
    const s = extractCompletionSummary(json);
    expect(s.text).toBe('classify({"intent":"x"})');
    expect(s.toolCalls).toEqual([{ id: 'call_1', name: 'classify', arguments: '{"intent":"x"}' }]);
    expect(s.usage).toBeUndefined();
  });
});

describe('StreamAccumulator', () => {
  it('collects text, finish reason, usage and [DONE] from an OpenAI stream, for any chunking', () => {
    const bytes = readSseFixture('openai-text-usage.sse');
    for (const size of [1, 4, 13, 4096]) {
      const s = accumulate(bytes, size);
      expect(s.text).toBe('The intent is card_arrival — ✓ é');
      expect(s.finishReason).toBe('stop');
      expect(s.usage).toMatchObject({ prompt_tokens: 41, completion_tokens: 9, total_tokens: 50 });
      expect(s.done).toBe(true);
      expect(s.id).toBe('chatcmpl-AqX1');
      expect(s.model).toBe('gpt-4o-mini-2024-07-18');
    }
  });

  it('assembles streamed tool calls by index', () => {
    const s = accumulate(readSseFixture('openai-tool-calls.sse'), 9);
    expect(s.toolCalls).toEqual([
      { id: 'call_Xk2', name: 'classify_intent', arguments: '{"intent":"card_arrival"}' },
      { id: 'call_Yz9', name: 'log_event', arguments: '{}' },
    ]);
    expect(s.text).toBe('classify_intent({"intent":"card_arrival"})\nlog_event({})');
    expect(s.finishReason).toBe('tool_calls');
    expect(s.usage).toBeUndefined();
  });

  it('reports a stream cut before [DONE] as not done, and skips garbage events', () => {
    const acc = new StreamAccumulator();
    acc.push('data: not json\n\n');
    acc.push('data: {"id":"x","choices":[{"index":0,"delta":{"content":"par"}}]}\n\n');
    acc.push('data: {"error":{"message":"boom"}}\n\n');
    acc.end();
    const s = acc.summary();
    expect(s.text).toBe('par');
    expect(s.done).toBe(false);
  });
});
