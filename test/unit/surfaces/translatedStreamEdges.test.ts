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
    text += sc.errorEvent(toHttpProblem(err), err instanceof UpstreamError ? err : undefined);
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

describe('an upstream that breaks off midway', () => {
  // Text opens the first item; the tool call after it is held back until that item closes.
  const cut = [
    chunk({ content: 'Checking' }),
    chunk(call(0, { id: 'call_A', type: 'function', function: { name: 'weather', arguments: '{"city":"Pa' } })),
  ];
  const failure = new UpstreamError('upstream connection lost', { status: 502, code: 'upstream_stream_error' });

  it('Responses: every item produced goes out (closed as incomplete), then error and response.failed with the output so far', async () => {
    const { events, threw } = await clientSees('responses', cut, failure);
    expect(threw).toBe(true);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.event)).toEqual([
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
      'error', 'response.failed',
    ]);
    expect(events.at(-2)!.data).toMatchObject({ type: 'error', code: 'upstream_stream_error', message: 'upstream connection lost' });
    const response = events.at(-1)!.data.response as { status: string; error: unknown; output: { type: string; status: string; arguments?: string; content?: { text: string }[] }[] };
    expect(response.status).toBe('failed');
    expect(response.error).toEqual({ code: 'upstream_stream_error', message: 'upstream connection lost' });
    expect(response.output.map((o) => [o.type, o.status, o.content?.[0]?.text ?? o.arguments])).toEqual([
      ['message', 'incomplete', 'Checking'], ['function_call', 'incomplete', '{"city":"Pa'],
    ]);
  });

  it('Responses: a stream that fails before any content still starts and ends well-formed', async () => {
    const { events } = await clientSees('responses', [`data: ${JSON.stringify({ error: { message: 'overloaded' } })}\n\n`]);
    expect(events.map((e) => e.event)).toEqual(['response.created', 'response.in_progress', 'error', 'response.failed']);
    expect(events.map((e) => e.data.sequence_number)).toEqual([0, 1, 2, 3]);
  });

  it('Messages: every block produced goes out and is stopped, then one error event, no message_stop', async () => {
    const { events, threw } = await clientSees('messages', cut, failure);
    expect(threw).toBe(true);
    expect(events.map((e) => [e.event, e.data.index])).toEqual([
      ['message_start', undefined],
      ['content_block_start', 0], ['content_block_delta', 0], ['content_block_stop', 0],
      ['content_block_start', 1], ['content_block_delta', 1], ['content_block_stop', 1],
      ['error', undefined],
    ]);
    expect(events.at(-1)!.data).toEqual({ type: 'error', error: { type: 'api_error', message: 'upstream connection lost' } });
  });

  // The case on the wire: not an error built with a type, but the provider's own error event in the
  // chat stream (OpenAI ends a failed stream with `data: {"error":{...}}`). Its type was dropped where
  // the chunk is read, so the Messages client got api_error and the message alone, not the type.
  it('Messages: the provider\'s own error event in the chat stream keeps its type, in the message', async () => {
    const own = `data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } })}\n\n`;
    const { events, threw } = await clientSees('messages', [...cut, own]);
    expect(threw).toBe(true);
    expect(events.at(-1)!.data).toEqual({ type: 'error', error: { type: 'api_error', message: 'The server had an error while processing your request. (upstream error type: server_error)' } });
    // Without a type, the message as the provider wrote it.
    const untyped = await clientSees('messages', [...cut, `data: ${JSON.stringify({ error: { message: 'boom' } })}\n\n`]);
    expect(untyped.events.at(-1)!.data).toEqual({ type: 'error', error: { type: 'api_error', message: 'boom' } });
  });

  it('Messages: an error another API typed gets Anthropic\'s type for its status, that type in the message; Anthropic\'s own is kept', async () => {
    const openai = new UpstreamError('Rate limit reached for requests', { status: 429, upstreamType: 'requests', upstreamApi: 'openai' });
    const fromOpenai = await clientSees('messages', cut, openai);
    expect(fromOpenai.events.at(-1)!.data).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached for requests (upstream error type: requests)' } });
    const anthropic = new UpstreamError('anthropic stream failed: Overloaded', { status: 502, upstreamType: 'overloaded_error', upstreamApi: 'anthropic' });
    const fromAnthropic = await clientSees('messages', cut, anthropic);
    expect(fromAnthropic.events.at(-1)!.data).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'anthropic stream failed: Overloaded' } });
  });
});
