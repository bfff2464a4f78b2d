import Anthropic from '@anthropic-ai/sdk';
import { jsonSchemaOutputFormat } from '@anthropic-ai/sdk/helpers/json-schema';
import { describe, expect, it } from 'vitest';
import { untilToolResult } from '../fakes/fakeBehavior.js';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, expectRow, useSurfaceHarness, type PolicyProvider, type SurfaceJob } from '../helpers/surfaces.js';

/**
 * The official `@anthropic-ai/sdk` pointed at the proxy URL (its `/v1/messages`): create, stream
 * and a tool round trip; against an upstream that speaks Messages natively (anthropic) and ones
 * reached through chat completions (openai, openai_compatible).
 */
const PROVIDERS: PolicyProvider[] = ['anthropic', 'openai', 'openai_compatible'];
const s = useSurfaceHarness(PROVIDERS);
let n = 0;

function client(provider: PolicyProvider): { anthropic: Anthropic; rid: string; job: SurfaceJob } {
  const job = s.jobs.get(provider)!;
  const rid = `anthropic-sdk-${n++}`;
  // The SDK appends /v1/messages to its base URL.
  return { anthropic: new Anthropic({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}`, maxRetries: 0 }), rid, job };
}

describe.each(PROVIDERS)('@anthropic-ai/sdk, provider %s', (provider) => {
  it('messages.create with a system string', async () => {
    const { anthropic, rid, job } = client(provider);
    const r = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Capital of France?' }] });
    expect(r.content[0]).toMatchObject({ type: 'text', text: 'Paris.' });
    expect(r.stop_reason).toBe('end_turn');
    expect(r.usage.output_tokens).toBeGreaterThan(0);
    await expectRow(s.h, job, rid, 'messages');
  });

  it('messages.stream with system blocks, and its final message', async () => {
    const { anthropic, rid, job } = client(provider);
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, system: [{ type: 'text', text: CLIENT_SYSTEM }], messages: [{ role: 'user', content: 'Capital of France?' }] });
    let text = '';
    stream.on('text', (delta) => {
      text += delta;
    });
    const final = await stream.finalMessage();
    expect(text).toBe('Paris.');
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'Paris.' });
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    await expectRow(s.h, job, rid, 'messages');
  });

  it('tools: a tool_use, then its tool_result sent back (two calls, one rollout)', async () => {
    const calls = [{ id: 'toolu_w1', name: 'weather', arguments: '{"city":"Paris"}' }];
    s.h.openai.setBehavior({ reply: 'Sunny.', toolCallsFor: untilToolResult(calls) });
    s.h.anthropic.setBehavior({ reply: 'Sunny.', toolCallsFor: untilToolResult(calls) });
    const { anthropic, rid, job } = client(provider);
    const tools = [{ name: 'weather', description: 'Current weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } }];
    const question = { role: 'user' as const, content: 'Weather in Paris?' };
    const first = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, tools, messages: [question] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'weather', input: { city: 'Paris' } });
    const second = await anthropic.messages.create({
      model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, tools,
      messages: [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use!.type === 'tool_use' ? use!.id : '', content: 'sunny' }] }],
    });
    expect(second.content.find((b) => b.type === 'text')).toMatchObject({ text: expect.stringContaining('Sunny') });
    await expectRow(s.h, job, rid, 'messages', 2);
  });
});

describe.each(['openai', 'openai_compatible'] as const)('@anthropic-ai/sdk structured outputs, translated to %s', (provider) => {
  // messages.parse sends output_config.format; it used to be dropped, so the model answered free text.
  it('messages.parse: output_config.format reaches chat completions as response_format', async () => {
    s.h.openai.setBehavior({ reply: '{"city":"Paris"}' });
    const { anthropic, rid, job } = client(provider);
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } as const;
    const r = await anthropic.messages.parse({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Capital of France?' }], output_config: { format: jsonSchemaOutputFormat(schema) } });
    expect(r.parsed_output).toEqual({ city: 'Paris' });
    const sent = s.h.openai.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
    await expectRow(s.h, job, rid, 'messages');
  });

  // A strict tool's inputs are guaranteed to match its schema: chat's function.strict says the same.
  it('a strict tool stays strict: function.strict reaches chat completions', async () => {
    const calls = [{ id: 'toolu_s1', name: 'weather', arguments: '{"city":"Paris"}' }];
    s.h.openai.setBehavior({ reply: 'Sunny.', toolCalls: calls });
    const { anthropic, rid, job } = client(provider);
    const input_schema = { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
    const r = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [{ name: 'weather', strict: true, input_schema }] });
    expect(r.stop_reason).toBe('tool_use');
    const sent = s.h.openai.requests.at(-1)?.body as { tools: unknown[] };
    expect(sent.tools).toEqual([{ type: 'function', function: { name: 'weather', parameters: input_schema, strict: true } }]);
    await expectRow(s.h, job, rid, 'messages');
  });

  // Example inputs shape how the model calls a tool; they used to be dropped without a word.
  it('a tool with input_examples is a 422 naming them, and nothing is sent', async () => {
    const { anthropic } = client(provider);
    const input_schema = { type: 'object' as const, properties: { city: { type: 'string' } } };
    const err = await anthropic.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'other', input_schema }, { name: 'weather', input_schema, input_examples: [{ city: 'Paris' }] }] }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(422);
    expect((err as { error: { error: { message: string } } }).error.error.message).toMatch(/^invalid request: tools\.1\.input_examples: /);
    expect(s.h.openai.requests).toHaveLength(0);
  });

  it('a format chat completions cannot say is a 422 naming it, and nothing is sent', async () => {
    const { anthropic } = client(provider);
    const err = await anthropic.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], output_config: { format: { type: 'xml' } as never } }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(422);
    expect(JSON.stringify((err as { error: unknown }).error)).toContain('output_config.format');
    expect(s.h.openai.requests).toHaveLength(0);
  });
});

describe.each(['openai', 'openai_compatible'] as const)('@anthropic-ai/sdk usage, translated to %s', (provider) => {
  // The SDK types the cache counts as number | null, never absent: left out, `input + cache_creation + cache_read` was NaN.
  const total = (u: Anthropic.Usage): number => u.input_tokens + (u.cache_creation_input_tokens as number) + (u.cache_read_input_tokens as number);

  it('messages.create reports the cache counts, 0 when none', async () => {
    const { anthropic } = client(provider);
    const r = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Capital of France?' }] });
    expect(r.usage).toMatchObject({ input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 7 });
    expect(total(r.usage)).toBe(12);
  });

  it('messages.stream: message_start and the final message report them too', async () => {
    const { anthropic } = client(provider);
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Capital of France?' }] });
    const starts: Anthropic.Usage[] = [];
    stream.on('streamEvent', (e) => {
      if (e.type === 'message_start') starts.push({ ...e.message.usage });
    });
    const final = await stream.finalMessage();
    expect(starts[0]).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(final.usage).toMatchObject({ input_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 7 });
    expect(total(final.usage)).toBe(12);
  });
});

describe('@anthropic-ai/sdk stop sequences, translated to openai_compatible (vLLM names the matched stop)', () => {
  // A stop on one of the client's stop_sequences was end_turn with stop_sequence null: the client could
  // not tell the marker it asked for from a natural end. vLLM says which string stopped the answer.
  const params = { model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, stop_sequences: ['</answer>', 'END'], messages: [{ role: 'user' as const, content: 'Capital of France?' }] };

  it('messages.create: stop_reason stop_sequence with the sequence', async () => {
    s.h.openai.setBehavior({ reply: 'Paris.', stopReason: 'END' });
    const { anthropic, rid, job } = client('openai_compatible');
    const r = await anthropic.messages.create(params);
    expect(r).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    expect((s.h.openai.requests.at(-1)?.body as { stop: string[] }).stop).toEqual(['</answer>', 'END']);
    await expectRow(s.h, job, rid, 'messages');
  });

  it('messages.stream: message_delta says it too', async () => {
    s.h.openai.setBehavior({ reply: 'Paris.', stopReason: '</answer>' });
    const { anthropic } = client('openai_compatible');
    const final = await anthropic.messages.stream(params).finalMessage();
    expect(final).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: '</answer>' });
  });

  it('a stop string the client did not ask for (the model\'s own end token) stays end_turn', async () => {
    s.h.openai.setBehavior({ reply: 'Paris.', stopReason: '<|im_end|>' });
    const { anthropic } = client('openai_compatible');
    expect(await anthropic.messages.create(params)).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
  });
});

describe('@anthropic-ai/sdk stop sequences and tools beyond what OpenAI takes', () => {
  // OpenAI's chat completions take at most 4 stop sequences ("Invalid 'stop': array too long"); Anthropic
  // takes more. Sent anyway, OpenAI's 400 came after the rollout was recorded and named `stop`.
  const five = ['A1', 'B2', 'C3', 'D4', 'E5'];

  it('openai: a 422 naming stop_sequences, before anything is sent or recorded', async () => {
    const { anthropic, rid, job } = client('openai');
    const err = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, stop_sequences: five, messages: [{ role: 'user', content: 'Capital of France?' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(422);
    expect((err as { error: { error: { message: string } } }).error.error.message).toMatch(/^invalid request: stop_sequences: openai takes at most 4 stop sequences, got 5/);
    expect(s.h.openai.requests).toHaveLength(0);
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).status).toBe(404);
  });

  it('openai: more than 128 tools is a 422 naming tools', async () => {
    const { anthropic } = client('openai');
    const tools = Array.from({ length: 129 }, (_, i) => ({ name: `t${i}`, input_schema: { type: 'object' as const } }));
    const err = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, tools, messages: [{ role: 'user', content: 'Capital of France?' }] }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(422);
    expect((err as { error: { error: { message: string } } }).error.error.message).toMatch(/^invalid request: tools: openai takes at most 128 tools, got 129/);
    expect(s.h.openai.requests).toHaveLength(0);
  });

  it('openai_compatible servers have no such limit: all five go', async () => {
    const { anthropic } = client('openai_compatible');
    const r = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, stop_sequences: five, messages: [{ role: 'user', content: 'Capital of France?' }] });
    expect(r.stop_reason).toBe('end_turn');
    expect((s.h.openai.requests.at(-1)?.body as { stop: string[] }).stop).toEqual(five);
  });
});

describe.each(['openai', 'openai_compatible'] as const)('@anthropic-ai/sdk beta MCP connector, translated to %s', (provider) => {
  // mcp_servers used to be dropped: the model answered without the MCP tools, and no one said so.
  it('mcp_servers is a 422 naming it, before anything is sent or recorded', async () => {
    const { anthropic, rid, job } = client(provider);
    const err = await anthropic.beta.messages.create({
      model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Open tickets?' }],
      mcp_servers: [{ type: 'url', url: 'https://mcp.example.com/sse', name: 'tickets' }], betas: ['mcp-client-2025-04-04'],
    }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(422);
    expect((err as { error: { error: { message: string } } }).error.error.message).toMatch(/^invalid request: mcp_servers: /);
    expect(s.h.openai.requests).toHaveLength(0);
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).status).toBe(404);
  });
});

describe('@anthropic-ai/sdk beta MCP connector, native', () => {
  it('anthropic itself gets mcp_servers and the beta header as sent', async () => {
    const { anthropic, rid, job } = client('anthropic');
    const mcp = [{ type: 'url' as const, url: 'https://mcp.example.com/sse', name: 'tickets' }];
    const r = await anthropic.beta.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Capital of France?' }], mcp_servers: mcp, betas: ['mcp-client-2025-04-04'] });
    expect(r.content[0]).toMatchObject({ type: 'text', text: 'Paris.' });
    const sent = s.h.anthropic.requests.at(-1)!;
    expect((sent.body as { mcp_servers: unknown }).mcp_servers).toEqual(mcp);
    expect(sent.headers['anthropic-beta']).toBe('mcp-client-2025-04-04');
    await expectRow(s.h, job, rid, 'messages');
  });
});

describe('@anthropic-ai/sdk errors', () => {
  it('surfaces a bad request as the SDK\'s typed error with Anthropic\'s error type', async () => {
    const { anthropic } = client('anthropic');
    const err = await anthropic.messages.create({ model: 'x', max_tokens: 5, messages: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(422);
    expect((err as { error: unknown }).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/messages/) } });
  });

  it.each(['openai', 'openai_compatible'] as const)('translated to %s: a refused call reaches the SDK with Anthropic\'s type for its status, the provider\'s own type in the message', async (provider) => {
    // What OpenAI answers: its rate limit typed `requests`, a bad key and an unknown model `invalid_request_error`.
    const cases = [
      { fail: { status: 429, type: 'requests', message: 'Rate limit reached for requests', retryAfter: '0' }, status: 429, sdk: Anthropic.RateLimitError, type: 'rate_limit_error', message: 'Rate limit reached for requests (upstream error type: requests)' },
      { fail: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' }, status: 401, sdk: Anthropic.AuthenticationError, type: 'authentication_error', message: 'Incorrect API key provided. (upstream error type: invalid_request_error)' },
      { fail: { status: 404, type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist' }, status: 404, sdk: Anthropic.NotFoundError, type: 'not_found_error', message: 'The model does not exist (upstream error type: invalid_request_error)' },
      // A compatible server out of credit (OpenRouter's 402): Anthropic's billing_error.
      { fail: { status: 402, type: 'insufficient_credits', message: 'Insufficient credits' }, status: 402, sdk: Anthropic.APIError, type: 'billing_error', message: 'Insufficient credits (upstream error type: insufficient_credits)' },
      // Already Anthropic's type for the status: the message as the provider wrote it.
      { fail: { status: 400, type: 'invalid_request_error', message: 'bad temperature' }, status: 400, sdk: Anthropic.BadRequestError, type: 'invalid_request_error', message: 'bad temperature' },
      { fail: { status: 500, type: 'server_error', message: 'The server had an error', retryAfter: '0' }, status: 502, sdk: Anthropic.InternalServerError, type: 'api_error', message: expect.stringMatching(/ failed with HTTP 500: The server had an error \(upstream error type: server_error\)$/) },
    ];
    for (const c of cases) {
      s.h.openai.setBehavior({ reply: 'Paris.', fail: c.fail });
      const { anthropic } = client(provider);
      const err = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(err, c.type).toBeInstanceOf(c.sdk);
      expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(c.status);
      expect((err as { error: unknown }).error).toEqual({ type: 'error', error: { type: c.type, message: c.message } });
    }
  });

  it('anthropic (native): Anthropic\'s own type is kept', async () => {
    s.h.anthropic.setBehavior({ reply: 'Paris.', fail: { status: 529, type: 'overloaded_error', message: 'Overloaded', retryAfter: '0' } });
    const { anthropic } = client('anthropic');
    const err = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(502);
    expect((err as { error: unknown }).error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'anthropic failed with HTTP 529: Overloaded' } });
  });
});
