import { describe, expect, it } from 'vitest';
import { AnthropicStreamTranslator } from '../../../src/providers/anthropicStream.js';
import { extractCompletionSummary } from '../../../src/providers/completionSummary.js';
import { SseParser, StreamAccumulator } from '../../../src/providers/sse.js';
import { forcePolicy, injectCandidate, insertAfterSystem, joinSystemHead, splitSystemHead } from '../../../src/proxy/injection.js';
import { nativeMessagesBody, NativeMessagesTap } from '../../../src/proxy/surfaces/messagesNative.js';
import { chatToMessage } from '../../../src/proxy/surfaces/messagesRender.js';
import { messagesToChat, parseMessagesRequest } from '../../../src/proxy/surfaces/messagesRequest.js';
import { MessagesStreamWriter } from '../../../src/proxy/surfaces/messagesStream.js';
import { ValidationError } from '../../../src/shared/errors.js';
import { readSseFixture } from '../../fixtures/fixtures.js';
import { parseEvents, skeleton, translateFixture, translateSse } from './streamHelpers.js';
import { catchError } from '../../helpers/catchError.js';

const policy = { model: 'claude-x', provider: 'anthropic', temperature: 0, max_completion_tokens: 256 } as const;

describe('Messages request -> internal call', () => {
  it('takes system as a string or text blocks and maps tool use, tool results, images and tool choice', () => {
    const req = parseMessagesRequest({
      model: 'x', max_tokens: 100, system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Use tools.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA' } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] }, { type: 'text', text: 'And?' }] },
      ],
      tools: [{ name: 'weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stop_sequences: ['END'], metadata: { user_id: 'u1' }, temperature: 0.5,
    });
    const chat = messagesToChat(req);
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be brief.\n\nUse tools.' },
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } }] },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      { role: 'user', content: 'And?' },
    ]);
    expect(chat).toMatchObject({
      max_tokens: 100, temperature: 0.5, stop: ['END'], user: 'u1', tool_choice: 'required', parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    expect(messagesToChat(parseMessagesRequest({ max_tokens: 5, system: 'Plain.', messages: [{ role: 'user', content: 'hi' }] })).messages[0]).toEqual({ role: 'system', content: 'Plain.' });
  });

  it('names bad and untranslatable fields', () => {
    const zero = catchError(() => parseMessagesRequest({ max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] })) as ValidationError;
    expect(zero.details.map((d) => d.path)).toEqual(['max_tokens']);
    // Left out, it is no problem: the job's limit goes (SPEC.md: filled from the policy when omitted).
    expect(messagesToChat(parseMessagesRequest({ messages: [{ role: 'user', content: 'hi' }] }))).not.toHaveProperty('max_tokens');
    const role = catchError(() => parseMessagesRequest({ max_tokens: 5, messages: [{ role: 'system', content: 'hi' }] })) as ValidationError;
    expect(role.details[0]?.path).toBe('messages.0.role');
    const server = catchError(() => messagesToChat(parseMessagesRequest({ max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }))) as ValidationError;
    expect(server.details[0]?.path).toBe('tools.0.type');
  });
});

describe('chat answer -> Messages message', () => {
  it('renders text and tool_use blocks, the stop reason and usage', () => {
    const completion = {
      id: 'chatcmpl-Z1', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls' }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
    };
    expect(chatToMessage(completion, extractCompletionSummary(completion).toolCalls)).toEqual({
      id: 'msg_Z1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 } }],
      stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 2 },
    });
    // OpenAI's cached prompt tokens are Anthropic's cache reads, which its input_tokens leaves out.
    const cached = { ...completion, usage: { ...completion.usage, prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 4 } } };
    expect(chatToMessage(cached, []).usage).toEqual({ input_tokens: 6, cache_creation_input_tokens: 0, cache_read_input_tokens: 4, output_tokens: 2 });
  });
});

/** Our Anthropic events read back by the provider's reader of real Anthropic streams. */
function readBack(text: string) {
  const t = new AnthropicStreamTranslator({ includeUsage: true, createdSec: 0, model: '' });
  const acc = new StreamAccumulator();
  for (const ev of new SseParser().push(text)) acc.push(t.onEvent(ev));
  acc.end();
  return { complete: t.complete, summary: acc.summary() };
}

function chatSummary(name: 'openai-text-usage.sse' | 'openai-tool-calls.sse') {
  const acc = new StreamAccumulator();
  acc.push(readSseFixture(name));
  acc.end();
  return acc.summary();
}

describe('chat stream -> Messages event stream', () => {
  it('has the skeleton of a real Anthropic stream and reads back to the same answer and usage, whatever the chunking', async () => {
    const real = parseEvents(readSseFixture('anthropic-text-tool-use.sse').toString('utf8')).map((e) => e.event ?? '').filter((t) => t !== 'ping');
    for (const name of ['openai-text-usage.sse', 'openai-tool-calls.sse'] as const) {
      for (const size of [1, 29, 100_000]) {
        const { text, error } = await translateFixture(name, new MessagesStreamWriter({ model: 'x' }), size);
        expect(error).toBeUndefined();
        const events = parseEvents(text);
        expect(events.every((e) => e.data.type === e.event)).toBe(true);
        const back = readBack(text);
        expect(back.complete).toBe(true);
        const direct = chatSummary(name);
        expect(back.summary.text).toBe(direct.text);
        expect(back.summary.toolCalls.map((c) => [c.name, c.arguments])).toEqual(direct.toolCalls.map((c) => [c.name, c.arguments]));
        expect(back.summary.usage?.completion_tokens ?? 0).toBe(direct.usage?.completion_tokens ?? 0); // the tool-call recording has no usage chunk
        const types = skeleton(events.map((e) => e.event ?? ''));
        expect([types[0], ...types.slice(-2)]).toEqual([real[0], ...real.slice(-2)]);
      }
    }
  });
});

describe('chat stream -> Messages event stream, tool names', () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c1', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const call = (fn: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ tool_calls: [{ index: 0, ...extra, function: fn }] });

  it('sends a name split over deltas whole in content_block_start, before the first input delta', async () => {
    const sse = chunk(call({ name: 'get_' }, { id: 'call_1', type: 'function' })) + chunk(call({ name: 'weather' })) + chunk(call({ arguments: '{"city":' }))
      + chunk(call({ arguments: '"Oslo"}' })) + chunk({}, 'tool_calls') + 'data: [DONE]\n\n';
    const events = parseEvents(await translateSse(sse, new MessagesStreamWriter({ model: 'x' })));
    expect(events.map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(events[1]!.data.content_block).toEqual({ type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} });
    const back = readBack(events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join(''));
    expect(back.summary.toolCalls.map((c) => [c.name, c.arguments])).toEqual([['get_weather', '{"city":"Oslo"}']]);
  });

  it('starts a call that sends no arguments at the end, and one whose index is reused by another call', async () => {
    const sse = chunk(call({ name: 'now' }, { id: 'call_a', type: 'function' })) + chunk(call({ name: 'ping' }, { id: 'call_b', type: 'function' }))
      + chunk(call({ arguments: '{}' })) + chunk({}, 'tool_calls') + 'data: [DONE]\n\n';
    const events = parseEvents(await translateSse(sse, new MessagesStreamWriter({ model: 'x' })));
    const starts = events.filter((e) => e.event === 'content_block_start').map((e) => [e.data.index, (e.data.content_block as { name: string }).name]);
    expect(starts).toEqual([[0, 'now'], [1, 'ping']]);
    // Each block starts before its deltas and stops after them, one after another.
    expect(events.map((e) => `${e.event}:${String(e.data.index ?? '')}`)).toEqual([
      'message_start:', 'content_block_start:0', 'content_block_stop:0', 'content_block_start:1', 'content_block_delta:1', 'content_block_stop:1', 'message_delta:', 'message_stop:',
    ]);
  });
});

describe('native Messages', () => {
  it('sends the client body with the candidate in system and inserted turns, keeping unknown fields', () => {
    const original = parseMessagesRequest({ max_tokens: 9999, system: [{ type: 'text', text: 'Mine.' }], messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled', budget_tokens: 1024 }, mipro: { module: 'main' } });
    const internal = messagesToChat(original);
    const injected = insertAfterSystem(injectCandidate({ ...internal, max_tokens: 2048 }, 'Candidate.', policy), [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]);
    // With thinking on, no temperature is added (Anthropic allows none but 1 with thinking).
    expect(nativeMessagesBody(original, internal, injected, true)).toEqual({
      max_tokens: 2048, system: 'Candidate.', thinking: { type: 'enabled', budget_tokens: 1024 }, model: 'claude-x',
      messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'hi' }],
    });
    expect(nativeMessagesBody(original, internal, injected, false)).toMatchObject({ system: [{ type: 'text', text: 'Mine.' }], messages: [{ role: 'user', content: 'hi' }] });
  });

  it('a call routed by its first system block: the candidate\'s text replaces that block only; the other blocks stay in place, cache_control and all', () => {
    const system = [{ type: 'text', text: 'Instruction.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'DOC', cache_control: { type: 'ephemeral' } }];
    const original = parseMessagesRequest({ max_tokens: 64, system, messages: [{ role: 'user', content: 'hi' }] });
    const internal = messagesToChat(original);
    const split = splitSystemHead(internal, 'Instruction.');
    expect(split.messages).toEqual([{ role: 'system', content: 'Instruction.' }, { role: 'system', content: 'DOC' }, { role: 'user', content: 'hi' }]);
    const demo = [{ role: 'user' as const, content: 'q' }, { role: 'assistant' as const, content: 'a' }];
    expect(nativeMessagesBody(original, internal, insertAfterSystem(injectCandidate(split, 'New.', policy), demo), true, true)).toMatchObject({
      system: [{ type: 'text', text: 'New.', cache_control: { type: 'ephemeral' } }, system[1]],
      messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'hi' }],
    });
    // The baseline's own text with demos: the blocks as sent. An empty text (Anthropic refuses an empty block) drops the first.
    expect(nativeMessagesBody(original, internal, insertAfterSystem(forcePolicy(split, policy), demo), true, true).system).toEqual(system);
    expect(nativeMessagesBody(original, internal, injectCandidate(split, '', policy), true, true).system).toEqual([system[1]]);
    // Translated: one system message, the candidate's text where the first block was.
    expect(joinSystemHead(injectCandidate(split, 'New.', policy)).messages[0]).toEqual({ role: 'system', content: 'New.\n\nDOC' });
  });

  it('keeps the client\'s system blocks (cache_control too) when only turns were inserted', () => {
    const system = [{ type: 'text', text: 'Mine.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'More.' }];
    // A candidate's new text keeps the client's prompt caching: one block with its cache_control.
    const cachedOriginal = parseMessagesRequest({ max_tokens: 64, system, messages: [{ role: 'user', content: 'hi' }] });
    const cachedInternal = messagesToChat(cachedOriginal);
    expect(nativeMessagesBody(cachedOriginal, cachedInternal, injectCandidate(cachedInternal, 'New.', policy), true).system)
      .toEqual([{ type: 'text', text: 'New.', cache_control: { type: 'ephemeral' } }]);
    const original = parseMessagesRequest({ max_tokens: 64, system, messages: [{ role: 'user', content: 'hi' }] });
    const internal = messagesToChat(original);
    const injected = insertAfterSystem(forcePolicy(internal, policy), [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]);
    expect(nativeMessagesBody(original, internal, injected, true)).toMatchObject({
      system, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'hi' }],
    });
  });

  it('fills the policy temperature only when the client set none, the policy has one and the provider takes it beside what the client sent', () => {
    const call = { messages: [{ role: 'user' as const, content: 'hi' }] };
    const openai = { ...policy, provider: 'openai' } as const;
    expect(forcePolicy(call, policy).temperature).toBe(0);
    expect(forcePolicy({ ...call, temperature: 0.5 }, policy).temperature).toBe(0.5);
    expect(forcePolicy(call, { ...policy, temperature: null })).not.toHaveProperty('temperature');
    // OpenAI's reasoning models refuse a temperature; Anthropic drops reasoning_effort in translation, so the job's applies.
    expect(forcePolicy({ ...call, reasoning_effort: 'low' } as typeof call, openai)).not.toHaveProperty('temperature');
    expect(forcePolicy({ ...call, reasoning_effort: 'low' } as typeof call, policy).temperature).toBe(0);
    // Claude 4.5-era models refuse temperature beside top_p; OpenAI takes both.
    expect(forcePolicy({ ...call, top_p: 0.9 }, policy)).not.toHaveProperty('temperature');
    expect(forcePolicy({ ...call, top_p: 0.9 }, openai).temperature).toBe(0);
    // Adaptive thinking counts as thinking on native Messages too.
    const adaptive = parseMessagesRequest({ max_tokens: 64, thinking: { type: 'adaptive' }, messages: [{ role: 'user', content: 'hi' }] });
    const adaptiveInternal = messagesToChat(adaptive);
    expect(nativeMessagesBody(adaptive, adaptiveInternal, forcePolicy(adaptiveInternal, policy), false)).not.toHaveProperty('temperature');
    const original = parseMessagesRequest({ max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    const internal = messagesToChat(original);
    expect(nativeMessagesBody(original, internal, forcePolicy(internal, { ...policy, temperature: null }), false)).not.toHaveProperty('temperature');
  });

  it('reads a relayed real stream for the record and notices an error event', () => {
    const tap = new NativeMessagesTap();
    tap.push(readSseFixture('anthropic-text-tool-use.sse'));
    tap.end();
    expect(tap.complete).toBe(true);
    expect(tap.summary().toolCalls).toHaveLength(1);
    const failing = new NativeMessagesTap();
    failing.push(readSseFixture('anthropic-error-midstream.sse'));
    failing.end();
    expect([failing.complete, failing.sawError]).toEqual([false, true]);
  });
});
