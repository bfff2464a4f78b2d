import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anthropicUserId, toAnthropicRequest } from '../../../src/providers/anthropicRequest.js';
import { finishReasonFor, parseAnthropicMessage, toChatCompletion } from '../../../src/providers/anthropicResponse.js';
import { ChatCompletionRequestSchema, ChatCompletionSchema } from '../../../src/schemas/openai.js';
import { UpstreamError } from '../../../src/shared/errors.js';

// `n` other than 1 is refused by the proxy's schema first; the provider still refuses it when called directly.
const req = ({ n, ...body }: Record<string, unknown>) => ({ ...ChatCompletionRequestSchema.parse(body), ...(n !== undefined ? { n } : {}) }) as ReturnType<typeof ChatCompletionRequestSchema.parse>;

describe('toAnthropicRequest', () => {
  it('moves system and developer messages to `system` and defaults max_tokens to 1024', () => {
    const out = toAnthropicRequest(
      req({
        model: 'claude-haiku-4-5',
        messages: [
          { role: 'system', content: 'You classify.' },
          { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
          { role: 'user', content: 'hi' },
        ],
      }),
      false,
    );
    expect(out).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 1024,
      system: 'You classify.\n\nBe brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    });
  });

  it('takes max_completion_tokens, then max_tokens; clamps temperature to 1; maps stop, top_p, user, stream', () => {
    const a = toAnthropicRequest(
      req({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 50, max_tokens: 99, temperature: 1.6, stop: 'END', user: 'u1' }),
      true,
    );
    expect(a).toMatchObject({ max_tokens: 50, temperature: 1, stop_sequences: ['END'], metadata: { user_id: 'u1' }, stream: true });
    expect(toAnthropicRequest(req({ model: 'm', messages: [{ role: 'user', content: 'x' }], top_p: 0.9 }), false)).toMatchObject({ top_p: 0.9 });
    const b = toAnthropicRequest(req({ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 99, temperature: 0, stop: ['a', 'b'] }), false);
    expect(b).toMatchObject({ max_tokens: 99, temperature: 0, stop_sequences: ['a', 'b'] });
    expect(b.stream).toBeUndefined();
  });

  it('sends an opaque user id as it is, an email, a phone number or a long value as its SHA-256', () => {
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    expect(anthropicUserId('user-7f3a')).toBe('user-7f3a');
    expect(anthropicUserId('ann@example.com')).toBe(sha('ann@example.com'));
    expect(anthropicUserId('+1 (555) 010-9999')).toBe(sha('+1 (555) 010-9999'));
    expect(anthropicUserId('u'.repeat(256))).toBe('u'.repeat(256));
    expect(anthropicUserId('u'.repeat(257))).toBe(sha('u'.repeat(257)));
  });

  it('reads a long user id in linear time (whoever holds a proxy URL sends it, up to the body limit)', () => {
    // The email pattern is unanchored: on a value with no `@` it cost the square of its length, and a
    // 200 KB `user` held the server's event loop for a minute (160 KB: ~13 s on an idle core).
    for (const user of ['a'.repeat(160_000), `a@${'b'.repeat(160_000)}`]) {
      const started = Date.now();
      expect(anthropicUserId(user)).toBe(createHash('sha256').update(user).digest('hex'));
      expect(Date.now() - started).toBeLessThan(1000);
    }
  });

  it('sends temperature without top_p when the call has both, which Claude 4.5-era models refuse together', () => {
    const out = toAnthropicRequest(req({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], temperature: 0.2, top_p: 0.9 }), false);
    expect(out).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 1024, temperature: 0.2, messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] });
  });

  it('translates tools, tool_choice, assistant tool_calls and tool results', () => {
    const out = toAnthropicRequest(
      req({
        model: 'm',
        messages: [
          { role: 'user', content: 'weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '18C' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '24C' }] },
          { role: 'user', content: 'thanks' },
        ],
        tools: [
          {
            type: 'function',
            function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
          },
          { type: 'function', function: { name: 'no_params' } },
        ],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false,
      }),
      false,
    );
    expect(out.tools).toEqual([
      { name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { name: 'no_params', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(out.tool_choice).toEqual({ type: 'tool', name: 'get_weather', disable_parallel_tool_use: true });
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        // Consecutive tool results and the next user turn merge into one user message.
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: '24C' },
          { type: 'text', text: 'thanks' },
        ],
      },
    ]);
  });

  it.each([
    ['auto', { type: 'auto' }],
    ['required', { type: 'any' }],
    ['none', { type: 'none' }],
  ])('tool_choice %s', (choice, expected) => {
    const out = toAnthropicRequest(
      req({ model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: choice }),
      false,
    );
    expect(out.tool_choice).toEqual(expected);
  });

  it('translates images (data URLs to base64, others to url sources)', () => {
    const out = toAnthropicRequest(
      req({
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
            ],
          },
        ],
      }),
      false,
    );
    expect(out.messages[0]?.content).toEqual([
      { type: 'text', text: 'what is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  it('turns a system-only prompt into one user turn (Anthropic needs a message)', () => {
    const out = toAnthropicRequest(req({ model: 'm', messages: [{ role: 'system', content: 'Propose an instruction.' }] }), false);
    expect(out.system).toBeUndefined();
    expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Propose an instruction.' }] }]);
  });

  it.each([
    ['missing model', { messages: [{ role: 'user', content: 'x' }] }, /model/],
    ['n > 1', { model: 'm', n: 2, messages: [{ role: 'user', content: 'x' }] }, /^n /],
    ['unknown role', { model: 'm', messages: [{ role: 'function', content: 'x' }] }, /messages\[0\]\.role/],
    ['audio part', { model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, /input_audio/],
    ['bad tool arguments', { model: 'm', messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, /not valid JSON/],
    ['tool message without id', { model: 'm', messages: [{ role: 'tool', content: 'x' }] }, /tool_call_id/],
    ['non-function tool', { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search' }] }, /tools\[0\]/],
    ['bad tool_choice', { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'sometimes' }, /tool_choice/],
  ])('refuses %s with a 400 naming the field', (_name, body, message) => {
    let caught: unknown;
    try {
      toAnthropicRequest(req(body), false);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UpstreamError);
    expect((caught as UpstreamError).status).toBe(400);
    expect((caught as UpstreamError).message).toMatch(message);
  });
});

describe('toChatCompletion', () => {
  it('maps text, tool_use, stop reason and usage (cached tokens count as prompt tokens)', () => {
    const msg = parseAnthropicMessage(
      JSON.stringify({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 's' },
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: { input_tokens: 10, cache_read_input_tokens: 5, cache_creation_input_tokens: 1, output_tokens: 7 },
      }),
    );
    const c = toChatCompletion(msg, 1_700_000_000);
    expect(ChatCompletionSchema.safeParse(c).success).toBe(true);
    expect(c).toEqual({
      id: 'msg_1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'claude-sonnet-4-5',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Let me look.',
            tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 16, completion_tokens: 7, total_tokens: 23, prompt_tokens_details: { cached_tokens: 5 } },
    });
  });

  it('gives null content for a tool-only answer', () => {
    const msg = parseAnthropicMessage(
      JSON.stringify({ id: 'm', model: 'x', content: [{ type: 'tool_use', id: 't', name: 'f', input: {} }], stop_reason: 'tool_use' }),
    );
    expect(toChatCompletion(msg, 0).choices[0]?.message.content).toBeNull();
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    [null, null],
  ])('finish reason for %s is %s', (stop, finish) => {
    expect(finishReasonFor(stop)).toBe(finish);
  });

  it('refuses a body that is not a message with a 502', () => {
    expect(() => parseAnthropicMessage('{"id":1}')).toThrow(UpstreamError);
    expect(() => parseAnthropicMessage('<html>')).toThrow(/not JSON/);
  });
});
