import { describe, expect, it } from 'vitest';
import { extractCompletionSummary } from '../../../src/providers/completionSummary.js';
import { StreamAccumulator } from '../../../src/providers/sse.js';
import { chatToResponse, echoOf } from '../../../src/proxy/surfaces/responsesRender.js';
import { nativeResponsesBody, nativeResponsesJson, NativeResponsesRelay, withInstructionsEcho } from '../../../src/proxy/surfaces/responsesNative.js';
import { parseResponsesRequest, resolveReferences, responsesToChat } from '../../../src/proxy/surfaces/responsesRequest.js';
import { ResponseItemCache } from '../../../src/proxy/surfaces/responseItems.js';
import { ResponsesStreamWriter } from '../../../src/proxy/surfaces/responsesStream.js';
import { summaryOfResponse } from '../../../src/proxy/surfaces/nativeSummary.js';
import { injectCandidate, insertAfterSystem } from '../../../src/proxy/injection.js';
import { BadRequestError, ValidationError } from '../../../src/shared/errors.js';
import { readSseFixture } from '../../fixtures/fixtures.js';
import { parseEvents, skeleton, translateFixture, translateSse } from './streamHelpers.js';
import { catchError } from '../../helpers/catchError.js';

const policy = { model: 'gpt-4o-mini', provider: 'openai', temperature: 0, max_completion_tokens: 256 } as const;
const echo = echoOf(parseResponsesRequest({ input: 'hi', instructions: 'Client text.' }));

describe('Responses request -> internal call', () => {
  it('puts instructions first as the system text and maps items, tools and the JSON schema format', () => {
    const req = parseResponsesRequest({
      model: 'x', instructions: 'Classify.', max_output_tokens: 50, temperature: 0.3, stream: true, parallel_tool_calls: false,
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'Where is my card?' }] },
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"card"}' },
        { type: 'function_call', call_id: 'call_2', name: 'lookup', arguments: '{"q":"pin"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'shipped' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'It shipped.' }] },
      ],
      tools: [{ type: 'function', name: 'lookup', description: 'Look up', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: true }],
      tool_choice: { type: 'function', name: 'lookup' },
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
      mipro: { module: 'main' },
    });
    const chat = responsesToChat(req);
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Classify.' },
      { role: 'user', content: 'Where is my card?' },
      { role: 'assistant', content: null, tool_calls: [
        { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"card"}' } },
        { id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{"q":"pin"}' } },
      ] },
      { role: 'tool', tool_call_id: 'call_1', content: 'shipped' },
      { role: 'assistant', content: 'It shipped.' },
    ]);
    expect(chat).toMatchObject({
      max_completion_tokens: 50, temperature: 0.3, stream: true, parallel_tool_calls: false, mipro: { module: 'main' },
      tools: [{ type: 'function', function: { name: 'lookup', description: 'Look up', strict: true, parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
    });
  });

  it('is stateless: previous_response_id, store: true and item references are a 400 that says so', () => {
    for (const body of [
      { input: 'hi', previous_response_id: 'resp_1' },
      { input: 'hi', store: true },
    ]) {
      const err = catchError(() => parseResponsesRequest(body));
      expect(err).toBeInstanceOf(BadRequestError);
      expect((err as Error).message).toMatch(/stateless/);
    }
    expect(parseResponsesRequest({ input: 'hi', store: false }).store).toBe(false);
    const ref = catchError(() => responsesToChat(parseResponsesRequest({ input: [{ type: 'item_reference', id: 'msg_1' }] })));
    expect(ref).toBeInstanceOf(BadRequestError);
  });

  it('names the field it cannot translate', () => {
    const err = catchError(() => responsesToChat(parseResponsesRequest({ input: 'hi', tools: [{ type: 'web_search' }] })));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details[0]?.path).toBe('tools.0.type');
    expect((catchError(() => parseResponsesRequest({ input: 42 })) as ValidationError).details[0]?.path).toBe('input');
  });
});

describe('item references (clients that assume store: true)', () => {
  it('resolves references to items this server answered for the same system, recently; others are a 400', () => {
    let now = 0;
    const cache = new ResponseItemCache({ maxItems: 2, ttlMs: 1000, now: () => now });
    const call = { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' };
    cache.remember('sys', [call, { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'x' }] }]);
    const req = parseResponsesRequest({ input: [{ role: 'user', content: 'q' }, { type: 'item_reference', id: 'fc_1' }, { type: 'function_call_output', call_id: 'call_1', output: 'r' }] });
    const resolved = resolveReferences(req, (id) => cache.lookup('sys', id));
    expect(responsesToChat(resolved).messages[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_1' }] });
    expect(catchError(() => resolveReferences(req, (id) => cache.lookup('other-system', id)))).toBeInstanceOf(BadRequestError);
    now = 2000;
    expect(cache.lookup('sys', 'fc_1')).toBeUndefined(); // expired
    cache.remember('sys', [{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    expect(['a', 'b', 'c'].map((id) => cache.lookup('sys', id) !== undefined)).toEqual([false, true, true]); // bounded
  });

  it('holds a bounded number of bytes, drops expired items as new ones come, and skips one huge item', () => {
    let now = 0;
    const cache = new ResponseItemCache({ maxBytes: 10_000, ttlMs: 1000, now: () => now });
    const big = (id: string) => ({ id, type: 'message', content: [{ type: 'output_text', text: 'x'.repeat(3000) }] });
    cache.remember('sys', [big('a'), big('b'), big('c'), big('d')]);
    expect(['a', 'b', 'c', 'd'].map((id) => cache.lookup('sys', id) !== undefined)).toEqual([false, true, true, true]);
    expect(cache.heldBytes).toBeLessThanOrEqual(10_000);
    now = 5000;
    cache.remember('sys', [{ id: 'e' }]);
    expect(cache.heldBytes).toBe(JSON.stringify({ id: 'e' }).length); // the expired ones are gone, not only hidden
    cache.remember('sys', [{ id: 'huge', text: 'x'.repeat(2 * 1024 * 1024) }]);
    expect(cache.lookup('sys', 'huge')).toBeUndefined();
  });
});

describe('chat answer -> Responses response', () => {
  it('renders text, function calls and usage, and echoes the client\'s instructions', () => {
    const completion = {
      id: 'chatcmpl-AB1', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok', tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls' }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    };
    const r = chatToResponse(completion, echo, extractCompletionSummary(completion).toolCalls);
    expect(r).toMatchObject({
      id: expect.stringMatching(/^resp_AB1_[0-9a-f]{8}$/), object: 'response', status: 'completed', instructions: 'Client text.', store: false,
      output: [
        { type: 'message', id: expect.stringMatching(/^msg_AB1_[0-9a-f]{8}$/), role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] },
        { type: 'function_call', call_id: 'call_9', name: 'f', arguments: '{"a":1}' },
      ],
      usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
    });
    const cut = chatToResponse({ ...completion, choices: [{ index: 0, message: { role: 'assistant', content: 'par' }, finish_reason: 'length' }] }, echo, []);
    expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ type: 'message', status: 'incomplete' }] });
    // An upstream that answers every call with the same id: each answer's items still have their own ids
    // (they are kept for item_reference, which must never fetch another answer's item).
    const again = chatToResponse(completion, echo, extractCompletionSummary(completion).toolCalls);
    const ids = (x: Record<string, unknown>) => [x.id, ...(x.output as { id: string }[]).map((o) => o.id)];
    expect(ids(again).filter((id) => ids(r).includes(id))).toEqual([]);
  });
});

describe('chat stream -> Responses event stream', () => {
  it('has the skeleton of a real OpenAI text stream, numbered from 0, whatever the chunking', async () => {
    const real = parseEvents(readSseFixture('openai-responses-text.sse').toString('utf8'));
    for (const size of [1, 13, 100_000]) {
      const { text, error } = await translateFixture('openai-text-usage.sse', new ResponsesStreamWriter(echo, { model: 'x', createdAt: 0 }), size);
      expect(error).toBeUndefined();
      const events = parseEvents(text);
      expect(skeleton(events.map((e) => e.event ?? ''))).toEqual(skeleton(real.map((e) => e.event ?? '')));
      expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
      expect(events.every((e) => e.data.type === e.event)).toBe(true);
      const deltas = events.filter((e) => e.event === 'response.output_text.delta').map((e) => e.data.delta).join('');
      const final = events[events.length - 1]!.data.response as Record<string, unknown>;
      expect(deltas).toBe('The intent is card_arrival — ✓ é');
      expect(summaryOfResponse(final).text).toBe(deltas);
      expect(final).toMatchObject({ status: 'completed', instructions: 'Client text.', usage: { input_tokens: expect.any(Number), output_tokens: expect.any(Number) } });
    }
  });

  it('streams tool calls as function_call items with argument deltas, like the real stream', async () => {
    const real = parseEvents(readSseFixture('openai-responses-function-call.sse').toString('utf8'));
    const { text, error } = await translateFixture('openai-tool-calls.sse', new ResponsesStreamWriter(echo, { model: 'x', createdAt: 0 }));
    expect(error).toBeUndefined();
    const events = parseEvents(text);
    const chat = new StreamAccumulator();
    chat.push(readSseFixture('openai-tool-calls.sse'));
    chat.end();
    const final = events[events.length - 1]!.data.response;
    expect(summaryOfResponse(final).toolCalls).toEqual(chat.summary().toolCalls);
    // One function call item of the real stream, repeated per call in ours.
    const firstCall = skeleton(events.map((e) => e.event ?? '')).slice(0, 6);
    expect(firstCall).toEqual(skeleton(real.map((e) => e.event ?? '')).slice(0, 6));
  });

  it('keeps interleaved tool calls and text after an open call whole, sending the items one after another', async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-I1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const call = (index: number, fields: Record<string, unknown>) => ({ tool_calls: [{ index, ...fields }] });
    const stream = [
      chunk(call(0, { id: 'call_A', type: 'function', function: { name: 'weather', arguments: '' } })),
      chunk(call(1, { id: 'call_B', type: 'function', function: { name: 'time', arguments: '{"tz"' } })),
      chunk(call(0, { function: { arguments: '{"city":' } })),
      chunk({ content: 'checking' }), // text while both calls are open
      chunk(call(1, { function: { arguments: ':"CET"}' } })),
      chunk(call(0, { function: { arguments: '"Paris"}' } })),
      chunk({}, 'tool_calls'),
      'data: [DONE]\n\n',
    ].join('');
    const text = await translateSse(stream, new ResponsesStreamWriter(echo, { model: 'x', createdAt: 0 }));
    const events = parseEvents(text);
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    const final = events.at(-1)!.data.response as { output: { type: string; name?: string; arguments?: string; content?: { text: string }[] }[] };
    expect(final.output.map((o) => [o.type, o.name ?? o.content?.[0]?.text, o.arguments])).toEqual([
      ['function_call', 'weather', '{"city":"Paris"}'], ['function_call', 'time', '{"tz":"CET"}'], ['message', 'checking', undefined],
    ]);
    // Each item's events are contiguous and complete (added, deltas, done), in output order, as OpenAI streams them.
    const byItem = events.filter((e) => typeof e.data.output_index === 'number').map((e) => [e.data.output_index, e.event] as const);
    expect(byItem.map(([i]) => i)).toEqual([...byItem.map(([i]) => i)].sort());
    for (const index of [0, 1]) {
      const own = byItem.filter(([i]) => i === index).map(([, t]) => t!);
      expect(skeleton(own)).toEqual(['response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done']);
      const deltas = events.filter((e) => e.event === 'response.function_call_arguments.delta' && e.data.output_index === index).map((e) => e.data.delta).join('');
      const done = events.find((e) => e.event === 'response.function_call_arguments.done' && e.data.output_index === index)!;
      expect(done.data.arguments).toBe(deltas);
      expect(deltas).toBe(final.output[index]!.arguments);
    }
  });

  it('reports a content-filtered answer as incomplete, and cached tokens from the usage details', async () => {
    const completion = {
      id: 'chatcmpl-F1', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }],
      usage: { prompt_tokens: 155, completion_tokens: 2, total_tokens: 157, prompt_tokens_details: { cached_tokens: 100 } },
    };
    expect(chatToResponse(completion, echo, [])).toMatchObject({
      status: 'incomplete', incomplete_details: { reason: 'content_filter' }, usage: { input_tokens: 155, input_tokens_details: { cached_tokens: 100 } },
    });
    const stream = [
      `data: ${JSON.stringify({ id: 'chatcmpl-F2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'content_filter' }] })}\n\n`,
      `data: ${JSON.stringify({ id: 'chatcmpl-F2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: completion.usage })}\n\n`,
      'data: [DONE]\n\n',
    ].join('');
    const text = await translateSse(stream, new ResponsesStreamWriter(echo, { model: 'x', createdAt: 0 }));
    const last = parseEvents(text).at(-1)!;
    expect(last.event).toBe('response.incomplete');
    expect((last.data.response as { output: { status: string }[] }).output.map((o) => o.status)).toEqual(['incomplete']);
    expect(last.data.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' }, usage: { input_tokens_details: { cached_tokens: 100 } } });
  });

  it('refuses to present a cut stream as complete', async () => {
    const cut = readSseFixture('openai-text-usage.sse').toString('utf8').split('\n\n').slice(0, 2).join('\n\n') + '\n\n';
    const writer = new ResponsesStreamWriter(echo, { model: 'x', createdAt: 0 });
    const { translateChatStream } = await import('../../../src/proxy/surfaces/chatChunks.js');
    let error: unknown;
    try {
      for await (const _ of translateChatStream([new TextEncoder().encode(cut)] as unknown as AsyncIterable<Uint8Array>, writer)) { /* drain */ }
    } catch (err) {
      error = err;
    }
    expect(String(error)).toMatch(/ended before the answer was finished/);
  });
});

describe('native Responses', () => {
  it('records a refusal part as the answer\'s text, as a chat refusal is', () => {
    const response = { object: 'response', output: [{ type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help.' }] }] };
    expect(summaryOfResponse(response).text).toBe('I cannot help.');
  });

  it('sends the client body with the injected instruction and inserted turns, never store', () => {
    const original = parseResponsesRequest({ input: 'hi', instructions: 'Mine.', tools: [{ type: 'web_search' }], mipro: { module: 'main' }, reasoning: { effort: 'low' } });
    const internal = { ...responsesToChat({ ...original, tools: [] }) };
    const injected = insertAfterSystem(injectCandidate(internal, 'Candidate.', policy), [{ role: 'user', content: 'demo q' }, { role: 'assistant', content: 'demo a' }]);
    const body = nativeResponsesBody(original, internal, injected, true);
    // A reasoning call gets no temperature (OpenAI's reasoning models refuse any but their default).
    expect(body).toEqual({
      input: [{ role: 'user', content: 'demo q' }, { role: 'assistant', content: 'demo a' }, { role: 'user', content: 'hi' }],
      instructions: 'Candidate.', tools: [{ type: 'web_search' }], reasoning: { effort: 'low' },
      model: 'gpt-4o-mini', store: false, max_output_tokens: 256, include: ['reasoning.encrypted_content'],
    });
    expect(nativeResponsesBody(original, internal, injected, false)).toMatchObject({ input: 'hi', instructions: 'Mine.' });
  });

  it('asks a reasoning call for encrypted reasoning, which store: false makes the only way to send it back', () => {
    // OpenAI with store: false keeps no reasoning items: the next turn's { type: 'reasoning', id } alone is a
    // 400 "Item with id 'rs_...' not found. Items are not persisted when `store` is set to false".
    const sent = (req: Record<string, unknown>): Record<string, unknown> => {
      const original = parseResponsesRequest(req);
      const internal = responsesToChat(original, []);
      return nativeResponsesBody(original, internal, injectCandidate(internal, 'Candidate.', { ...policy, model: 'gpt-5-mini', temperature: null }), true);
    };
    expect(sent({ input: 'hi', reasoning: { effort: 'low' } })).toMatchObject({ store: false, include: ['reasoning.encrypted_content'] });
    // The client's own include values stay, first; one already asking is left as sent.
    expect(sent({ input: 'hi', reasoning: { effort: 'low' }, include: ['web_search_call.action.sources'] }).include)
      .toEqual(['web_search_call.action.sources', 'reasoning.encrypted_content']);
    expect(sent({ input: 'hi', reasoning: { effort: 'low' }, include: ['reasoning.encrypted_content'] }).include).toEqual(['reasoning.encrypted_content']);
    // No reasoning field, but the conversation holds a reasoning item: a reasoning model answered it.
    const loop = sent({
      input: [
        { role: 'user', content: 'Where is my card?' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAAA...' },
        { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'lookup', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'shipped' },
      ],
    });
    expect(loop.include).toEqual(['reasoning.encrypted_content']);
    // Anything else is left alone: gpt-4o and gpt-4.1 refuse the value ("Encrypted content is not supported with this model").
    expect(sent({ input: 'hi' })).not.toHaveProperty('include');
    expect(sent({ input: 'hi', include: ['message.output_text.logprobs'] }).include).toEqual(['message.output_text.logprobs']);
  });

  it('sends a job\'s token cap below OpenAI\'s Responses floor of 16 as 16, the client\'s own value as sent', () => {
    const sent = (req: Record<string, unknown>): Record<string, unknown> => {
      const original = parseResponsesRequest(req);
      const internal = responsesToChat(original);
      // As the proxy does: a client's limit above the policy's cap is clamped to it (requestBody.ts limitSpend).
      const capped = { ...internal, ...(typeof internal.max_completion_tokens === 'number' ? { max_completion_tokens: Math.min(internal.max_completion_tokens, 10) } : {}) };
      return nativeResponsesBody(original, internal, injectCandidate(capped, 'Candidate.', { ...policy, max_completion_tokens: 10 }), true);
    };
    // OpenAI: "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 10 instead."
    expect(sent({ input: 'hi' }).max_output_tokens).toBe(16); // the policy's default
    expect(sent({ input: 'hi', max_output_tokens: 500 }).max_output_tokens).toBe(16); // clamped to the cap
    expect(sent({ input: 'hi', max_output_tokens: 8 }).max_output_tokens).toBe(8); // the client's own
  });

  it('keeps a string input a string when only the instructions change', () => {
    const original = parseResponsesRequest({ input: 'hi', instructions: 'Mine.' });
    const internal = responsesToChat(original);
    const body = nativeResponsesBody(original, internal, injectCandidate(internal, 'Candidate.', policy), true);
    expect([body.instructions, body.input]).toEqual(['Candidate.', 'hi']);
  });

  it('inserts turns after the system/developer items that open input, where the chat path puts them', () => {
    const demo = [{ role: 'user' as const, content: 'demo q' }, { role: 'assistant' as const, content: 'demo a' }];
    const original = parseResponsesRequest({ instructions: 'Mine.', input: [{ role: 'developer', content: 'Extra.' }, { role: 'user', content: 'hi' }] });
    const internal = responsesToChat(original);
    const injected = insertAfterSystem(injectCandidate(internal, 'Candidate.', policy), demo);
    expect(injected.messages.map((m) => m.content)).toEqual(['Candidate.', 'Extra.', 'demo q', 'demo a', 'hi']);
    const body = nativeResponsesBody(original, internal, injected, true);
    expect([body.instructions, body.input]).toEqual(['Candidate.', [{ role: 'developer', content: 'Extra.' }, ...demo, { role: 'user', content: 'hi' }]]);
    const vercel = parseResponsesRequest({ input: [{ role: 'developer', content: 'Mine.' }, { role: 'developer', content: 'Extra.' }, { role: 'user', content: 'hi' }] });
    const vInternal = responsesToChat(vercel);
    const vBody = nativeResponsesBody(vercel, vInternal, insertAfterSystem(injectCandidate(vInternal, 'Candidate.', policy), demo), true);
    expect(vBody.input).toEqual([{ role: 'developer', content: 'Candidate.' }, { role: 'developer', content: 'Extra.' }, ...demo, { role: 'user', content: 'hi' }]);
  });

  it('puts the candidate in the client\'s own system input item when it sent no instructions', () => {
    const original = parseResponsesRequest({ input: [{ role: 'developer', content: 'Mine.' }, { role: 'user', content: 'hi' }] });
    const internal = responsesToChat(original);
    const body = nativeResponsesBody(original, internal, injectCandidate(internal, 'Candidate.', policy), true);
    expect(body.instructions).toBeUndefined();
    expect(body.input).toEqual([{ role: 'developer', content: 'Candidate.' }, { role: 'user', content: 'hi' }]);
    // Empty instructions (a client that always sets the field) are none: the item is the system text.
    const empty = parseResponsesRequest({ instructions: '', input: [{ role: 'system', content: 'Mine.' }, { role: 'user', content: 'hi' }] });
    const emptyInternal = responsesToChat(empty);
    expect(emptyInternal.messages[0]).toEqual({ role: 'system', content: 'Mine.' });
    const emptyBody = nativeResponsesBody(empty, emptyInternal, injectCandidate(emptyInternal, 'Candidate.', policy), true);
    expect([emptyBody.instructions, emptyBody.input]).toEqual(['', [{ role: 'system', content: 'Candidate.' }, { role: 'user', content: 'hi' }]]);
  });

  it('relays a real stream event by event with the client\'s instructions put back, and reads its summary', () => {
    const relay = new NativeResponsesRelay('Mine.');
    const out = relay.push(readSseFixture('openai-responses-function-call.sse')) + relay.end();
    const events = parseEvents(out);
    expect(events).toHaveLength(parseEvents(readSseFixture('openai-responses-function-call.sse').toString('utf8')).length);
    expect(out).not.toContain('You are a banking intent classifier.');
    expect(events.filter((e) => e.data.response !== undefined).every((e) => (e.data.response as { instructions: string }).instructions === 'Mine.')).toBe(true);
    expect(relay.complete).toBe(true);
    expect(relay.summary()).toMatchObject({ text: 'classify_intent({"intent":"card_arrival"})', usage: { prompt_tokens: 31, completion_tokens: 6, total_tokens: 37 } });
  });

  it('rewrites the echo at string level when it knows what was sent: the same events as parsing them', () => {
    const fixture = readSseFixture('openai-responses-function-call.sse');
    const parsed = new NativeResponsesRelay('Mine.', 'not what was sent');
    const textual = new NativeResponsesRelay('Mine.', 'You are a banking intent classifier.');
    const a = parseEvents(parsed.push(fixture) + parsed.end());
    const b = parseEvents(textual.push(fixture) + textual.end());
    expect(b).toEqual(a);
    expect([textual.complete, textual.summary()]).toEqual([parsed.complete, parsed.summary()]);
  });

  it('puts the client\'s instructions in a JSON answer, as written when nothing changed, parsed when the echo is unusual', () => {
    const response = { id: 'resp_1', object: 'response', instructions: 'Cand "quoted" é', output: [{ type: 'message', content: [{ type: 'output_text', text: 'instructions: hi' }] }] };
    const pretty = JSON.stringify(response, null, 2);
    const out = nativeResponsesJson(pretty, 'Mine.');
    expect(JSON.parse(out.out)).toEqual({ ...response, instructions: 'Mine.' });
    expect(out.out).toContain('\n  "instructions": "Mine."'); // the upstream's own layout, only the echo changed
    expect(out.summary.text).toBe('instructions: hi');
    const same = JSON.stringify({ ...response, instructions: 'Mine.' });
    expect(nativeResponsesJson(same, 'Mine.').out).toBe(same);
    expect(JSON.parse(nativeResponsesJson(same, null).out).instructions).toBeNull();
    // No echo, an escaped echo, a second key of the name: parsed and re-serialised, same meaning.
    const { instructions: _gone, ...noEcho } = response;
    for (const raw of [JSON.stringify(noEcho), pretty.replace('é', '\\u00e9'), JSON.stringify({ ...response, metadata: { instructions: 'x' } })]) {
      expect(JSON.parse(nativeResponsesJson(raw, 'Mine.').out).instructions).toBe('Mine.');
    }
    expect(withInstructionsEcho(JSON.stringify({ ...response, metadata: { instructions: 'x' } }), response.instructions, 'Mine.')).toBeNull();
    expect(withInstructionsEcho('{"text":"say \\"instructions\\": no","instructions":null}', null, 'Mine.')).toBe('{"text":"say \\"instructions\\": no","instructions":"Mine."}');
  });
});
