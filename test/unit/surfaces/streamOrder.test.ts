import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StreamWriter } from '../../../src/proxy/surfaces/chatChunks.js';
import { MessagesStreamWriter } from '../../../src/proxy/surfaces/messagesStream.js';
import { echoOf } from '../../../src/proxy/surfaces/responsesRender.js';
import { parseResponsesRequest } from '../../../src/proxy/surfaces/responsesRequest.js';
import { ResponsesStreamWriter } from '../../../src/proxy/surfaces/responsesStream.js';
import { parseEvents, translateSse } from './streamHelpers.js';

/**
 * Any chat stream, however it orders its text and tool calls (interleaved by index, text while a call
 * is open), becomes a Responses or Messages stream whose items go out one after another, each whole,
 * carrying exactly the text and arguments the chat stream sent.
 */
type Step = { kind: 'text'; text: string } | { kind: 'start'; tool: number } | { kind: 'args'; tool: number; args: string };

const piece = fc.string({ minLength: 1, maxLength: 6 });
const steps = fc.array(fc.oneof(
  piece.map((text): Step => ({ kind: 'text', text })),
  fc.integer({ min: 0, max: 2 }).map((tool): Step => ({ kind: 'start', tool })),
  fc.tuple(fc.integer({ min: 0, max: 2 }), piece).map(([tool, args]): Step => ({ kind: 'args', tool, args })),
), { maxLength: 25 });

/** The chat SSE for the steps (arguments of a call not started yet are dropped, as a chat stream never sends them), and what it carries. */
function chatStream(list: readonly Step[]): { sse: string; text: string[]; tools: Map<number, string> } {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-P', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const tools = new Map<number, string>();
  const text: string[] = [];
  let sse = chunk({ role: 'assistant' });
  for (const s of list) {
    if (s.kind === 'text') {
      text.push(s.text);
      sse += chunk({ content: s.text });
    } else if (s.kind === 'start' && !tools.has(s.tool)) {
      tools.set(s.tool, '');
      sse += chunk({ tool_calls: [{ index: s.tool, id: `call_${s.tool}`, type: 'function', function: { name: `f${s.tool}`, arguments: '' } }] });
    } else if (s.kind === 'args' && tools.has(s.tool)) {
      tools.set(s.tool, tools.get(s.tool)! + s.args);
      sse += chunk({ tool_calls: [{ index: s.tool, function: { arguments: s.args } }] });
    }
  }
  return { sse: `${sse}${chunk({}, tools.size > 0 ? 'tool_calls' : 'stop')}data: [DONE]\n\n`, text, tools };
}

const run = async (writer: StreamWriter, sse: string) => parseEvents(await translateSse(sse, writer));

/** Runs of equal keys must not come back: each key's events are contiguous. */
const contiguous = (keys: readonly unknown[]) => keys.filter((k, i) => k !== keys[i - 1]).length === new Set(keys).size;

describe('translated streams keep every item whole and in order, whatever the chat stream interleaves', () => {
  it('Responses', async () => {
    const echo = echoOf(parseResponsesRequest({ input: 'hi' }));
    await fc.assert(fc.asyncProperty(steps, async (list) => {
      const chat = chatStream(list);
      const events = await run(new ResponsesStreamWriter(echo, { model: 'm', createdAt: 0 }), chat.sse);
      expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
      const itemEvents = events.filter((e) => typeof e.data.output_index === 'number');
      const indices = itemEvents.map((e) => e.data.output_index as number);
      expect(contiguous(indices)).toBe(true);
      expect(indices).toEqual([...indices].sort((a, b) => a - b));
      for (const index of new Set(indices)) {
        const own = itemEvents.filter((e) => e.data.output_index === index).map((e) => e.event);
        expect([own[0], own.at(-1)]).toEqual(['response.output_item.added', 'response.output_item.done']);
      }
      expect(events.at(-1)!.event).toBe('response.completed');
      const output = (events.at(-1)!.data.response as { output: { type: string; name?: string; arguments?: string; content?: { text: string }[] }[] }).output;
      const calls = output.filter((o) => o.type === 'function_call').map((o) => [o.name, o.arguments]);
      // A call the chat stream sent no argument text for carries `{}`, as OpenAI's Responses API sends it.
      expect(calls).toEqual([...chat.tools].map(([i, args]) => [`f${i}`, args === '' ? '{}' : args]));
      // All text in one message item, as a non-streamed answer has it.
      expect(output.filter((o) => o.type === 'message').map((o) => o.content![0]!.text)).toEqual(chat.text.length > 0 || chat.tools.size === 0 ? [chat.text.join('')] : []);
      // The deltas say the same as the final response.
      for (const [i, o] of output.entries()) {
        if (o.type !== 'function_call') continue;
        const deltas = itemEvents.filter((e) => e.data.output_index === i && e.event === 'response.function_call_arguments.delta').map((e) => e.data.delta).join('');
        expect(deltas).toBe(o.arguments);
      }
    }), { numRuns: 300 });
  });

  it('Messages', async () => {
    await fc.assert(fc.asyncProperty(steps, async (list) => {
      const chat = chatStream(list);
      const events = await run(new MessagesStreamWriter({ model: 'm' }), chat.sse);
      const blockEvents = events.filter((e) => typeof e.data.index === 'number');
      const indices = blockEvents.map((e) => e.data.index as number);
      expect(contiguous(indices)).toBe(true);
      expect([...new Set(indices)]).toEqual([...new Set(indices)].map((_, i) => i)); // 0, 1, 2 ... in order
      const blocks = [...new Set(indices)].map((index) => {
        const own = blockEvents.filter((e) => e.data.index === index);
        expect([own[0]!.event, own.at(-1)!.event]).toEqual(['content_block_start', 'content_block_stop']);
        const start = own[0]!.data.content_block as { type: string; name?: string };
        const deltas = own.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta as { text?: string; partial_json?: string });
        return { type: start.type, name: start.name, body: deltas.map((d) => d.text ?? d.partial_json ?? '').join('') };
      });
      expect(blocks.filter((b) => b.type === 'tool_use').map((b) => [b.name, b.body])).toEqual([...chat.tools].map(([i, args]) => [`f${i}`, args]));
      expect(blocks.filter((b) => b.type === 'text').map((b) => b.body)).toEqual(chat.text.length > 0 || chat.tools.size === 0 ? [chat.text.join('')] : []);
      expect(events.map((e) => e.event).slice(-2)).toEqual(['message_delta', 'message_stop']);
    }), { numRuns: 300 });
  });
});

describe('a chat stream of many tool calls', () => {
  it('is translated in linear time: each event finds its item without a scan', async () => {
    // Every call stays open until the stream ends; scanned for on each event, 30,000 calls took
    // seconds (the square of the calls) on the old code. An upstream's stream is a tenant's to choose.
    const calls = 30_000;
    const chunk = (delta: Record<string, unknown>) => `data: ${JSON.stringify({ id: 'chatcmpl-P', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    let sse = chunk({ role: 'assistant', content: 'Calling.' });
    for (let i = 0; i < calls; i++) sse += chunk({ tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name: 'f', arguments: '{}' } }] });
    sse += 'data: [DONE]\n\n';
    const echo = echoOf(parseResponsesRequest({ input: 'hi' }));
    const started = performance.now();
    const responses = await run(new ResponsesStreamWriter(echo, { model: 'm', createdAt: 0 }), sse);
    const messages = await run(new MessagesStreamWriter({ model: 'm' }), sse);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(responses.filter((e) => e.event === 'response.output_item.done')).toHaveLength(calls + 1);
    expect(messages.filter((e) => e.event === 'content_block_stop')).toHaveLength(calls + 1);
  });
});
