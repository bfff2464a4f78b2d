import { describe, expect, it } from 'vitest';
import { toHttpProblem } from '../../../src/api/errorMapping.js';
import { StreamAccumulator } from '../../../src/providers/completionSummary.js';
import { messagesSurface } from '../../../src/proxy/surfaces/messagesSurface.js';
import { ResponseItemCache } from '../../../src/proxy/surfaces/responseItems.js';
import { createResponsesSurface } from '../../../src/proxy/surfaces/responsesSurface.js';
import type { SurfaceCall } from '../../../src/proxy/surfaces/surface.js';
import { UpstreamError } from '../../../src/shared/errors.js';
import { parseEvents } from './streamHelpers.js';

/**
 * Edges of a translated stream (a chat-completions upstream rendered as Responses or Messages): a
 * tool index reused for another call, content after [DONE], and an upstream that breaks off midway.
 * Run through the surface as the proxy runs it: renderStream, then errorEvent when the stream throws.
 */
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-E1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const call = (index: number, fields: Record<string, unknown>) => ({ tool_calls: [{ index, ...fields }] });
const DONE = 'data: [DONE]\n\n';

type SurfaceName = 'responses' | 'messages';
function surfaceCall(name: SurfaceName): SurfaceCall {
  return name === 'responses'
    ? createResponsesSurface(new ResponseItemCache({})).parse({ model: 'x', input: 'hi', stream: true }, 'sys_t', {})
    : messagesSurface.parse({ model: 'x', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }, 'sys_t', {});
}

/** What the client reads: the translated stream, and the surface's error event if it failed (as proxyRoute.ts does). */
async function clientSees(name: SurfaceName, pieces: readonly string[], failure?: Error): Promise<{ events: ReturnType<typeof parseEvents>; threw: boolean }> {
  const sc = surfaceCall(name);
  async function* source(): AsyncGenerator<Uint8Array> {
    for (const p of pieces) yield Buffer.from(p);
    if (failure) throw failure;
  }
  let text = '';
  let threw = false;
  try {
    for await (const piece of sc.renderStream(source())) text += String(piece);
  } catch (err) {
    threw = true;
    text += sc.errorEvent(toHttpProblem(err), undefined);
  }
  return { events: parseEvents(text), threw };
}

describe('a chat tool index reused with a new id is a new call', () => {
  const stream = [
    chunk(call(0, { id: 'call_A', type: 'function', function: { name: 'weather', arguments: '' } })),
    chunk(call(0, { id: 'call_A', function: { arguments: '{"city":' } })), // the same id again: the same call
    chunk(call(0, { function: { arguments: '"Paris"}' } })),
    chunk(call(0, { id: 'call_B', type: 'function', function: { name: 'time', arguments: '' } })),
    chunk(call(0, { function: { arguments: '{"tz":"CET"}' } })),
    chunk({}, 'tool_calls'),
    DONE,
  ];

  it('Responses: two function_call items', async () => {
    const { events } = await clientSees('responses', stream);
    const final = events.at(-1)!;
    expect(final.event).toBe('response.completed');
    const output = (final.data.response as { output: { type: string; call_id: string; name: string; arguments: string }[] }).output;
    expect(output.map((o) => [o.type, o.call_id, o.name, o.arguments])).toEqual([
      ['function_call', 'call_A', 'weather', '{"city":"Paris"}'],
      ['function_call', 'call_B', 'time', '{"tz":"CET"}'],
    ]);
  });

  it('Messages: two tool_use blocks', async () => {
    const { events } = await clientSees('messages', stream);
    const starts = events.filter((e) => e.event === 'content_block_start').map((e) => e.data.content_block as { id: string; name: string });
    expect(starts.map((b) => [b.id, b.name])).toEqual([['call_A', 'weather'], ['call_B', 'time']]);
    const args = (index: number) => events.filter((e) => e.event === 'content_block_delta' && e.data.index === index)
      .map((e) => (e.data.delta as { partial_json: string }).partial_json).join('');
    expect([args(0), args(1)]).toEqual(['{"city":"Paris"}', '{"tz":"CET"}']);
  });

  it('the call record: two calls', () => {
    const acc = new StreamAccumulator();
    acc.push(stream.join(''));
    acc.end();
    expect(acc.summary().toolCalls).toEqual([
      { id: 'call_A', name: 'weather', arguments: '{"city":"Paris"}' },
      { id: 'call_B', name: 'time', arguments: '{"tz":"CET"}' },
    ]);
  });
});

describe('what an upstream sends after data: [DONE] is ignored', () => {
  const late = [
    chunk({ content: 'Hi' }), chunk({}, 'stop'), DONE,
    chunk({ content: 'LATE' }), chunk(call(0, { id: 'call_L', type: 'function', function: { name: 'late', arguments: '{}' } })),
    `data: ${JSON.stringify({ error: { message: 'late failure' } })}\n\n`,
  ];

  it.each(['responses', 'messages'] as const)('%s: the stream ends at its terminal event, even when the upstream fails after [DONE]', async (name) => {
    for (const failure of [undefined, new UpstreamError('connection reset', { status: 502 })]) {
      const { events, threw } = await clientSees(name, late, failure);
      expect(threw).toBe(false);
      expect(events.at(-1)!.event).toBe(name === 'responses' ? 'response.completed' : 'message_stop');
      expect(JSON.stringify(events)).not.toMatch(/LATE|late/);
    }
  });

  it('the call record keeps only what came before [DONE]', () => {
    const acc = new StreamAccumulator();
    acc.push(late.join(''));
    acc.end();
    expect([acc.summary().text, acc.summary().toolCalls]).toEqual(['Hi', []]);
  });
});
