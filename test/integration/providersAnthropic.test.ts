import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AnthropicProvider, type AnthropicOptions } from '../../src/providers/anthropic.js';
import { StreamAccumulator } from '../../src/providers/sse.js';
import type { ChatCompletionRequest } from '../../src/schemas/openai.js';
import { ChatCompletionChunkSchema, ChatCompletionSchema } from '../../src/schemas/openai.js';
import { UpstreamError } from '../../src/shared/errors.js';
import { createSeededRng } from '../../src/shared/rng.js';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/fakeAnthropic.js';
import { systemPromptOf } from '../fakes/fakeUpstream.js';
import { upstreamFailure } from '../helpers/upstreamFailure.js';

const KEY = 'sk-ant-test-0123456789';
const REQ: ChatCompletionRequest = {
  model: 'claude-haiku-4-5',
  messages: [
    { role: 'system', content: 'Classify the banking query.' },
    { role: 'user', content: 'my card has not arrived' },
  ],
  temperature: 0,
  max_completion_tokens: 64,
};
const TOOLS = [
  { type: 'function', function: { name: 'classify', description: 'pick an intent', parameters: { type: 'object', properties: { intent: { type: 'string' } }, required: ['intent'] } } },
];

let fake: FakeAnthropic;
const open: AnthropicProvider[] = [];
let sleeps: number[] = [];

function provider(overrides: Partial<AnthropicOptions> = {}): AnthropicProvider {
  const p = new AnthropicProvider({
    baseUrl: fake.url,
    apiKey: KEY,
    timeoutMs: 5_000,
    maxRetries: 2,
    rng: createSeededRng(1),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    clock: { now: () => 1_700_000_000_000 },
    ...overrides,
  });
  open.push(p);
  return p;
}


async function drain(body: AsyncIterable<Uint8Array>): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    for await (const c of body) text += Buffer.from(c).toString('utf8');
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  fake.setBehavior({ apiKey: KEY });
  fake.requests.length = 0;
  sleeps = [];
});

describe('AnthropicProvider against a fake Messages API', () => {
  it('translates the request and the answer of a plain completion', async () => {
    fake.setBehavior({ apiKey: KEY, reply: (r) => `system was: ${systemPromptOf(r)}` });
    const res = await provider().complete(REQ);
    const seen = fake.requests[0];
    expect(seen?.url).toBe('/v1/messages');
    expect(seen?.headers['x-api-key']).toBe(KEY);
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.body).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 64,
      system: 'Classify the banking query.',
      temperature: 0,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'my card has not arrived' }] }],
    });
    expect(ChatCompletionSchema.safeParse(res.json).success).toBe(true);
    expect(res.json).toMatchObject({
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'claude-haiku-4-5',
      choices: [{ index: 0, message: { role: 'assistant', content: 'system was: Classify the banking query.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
    });
    expect(JSON.parse(res.raw)).toEqual(res.json);
  });

  it('translates tools and a tool_use answer', async () => {
    fake.setBehavior({ apiKey: KEY, reply: '', toolCalls: [{ id: 'toolu_1', name: 'classify', arguments: '{"intent":"card_arrival"}' }] });
    const res = await provider().complete({ ...REQ, tools: TOOLS, tool_choice: 'required' });
    const sent = fake.requests[0]?.body as { tools?: unknown; tool_choice?: unknown };
    expect(sent.tools).toEqual([
      { name: 'classify', description: 'pick an intent', input_schema: { type: 'object', properties: { intent: { type: 'string' } }, required: ['intent'] } },
    ]);
    expect(sent.tool_choice).toEqual({ type: 'any' });
    expect(res.json.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'classify', arguments: '{"intent":"card_arrival"}' } }],
      },
    });
  });

  it('streams OpenAI chunks translated from Anthropic events, with tool calls, usage and [DONE]', async () => {
    fake.setBehavior({ apiKey: KEY, reply: 'Looking it up.', chunks: 3, toolCalls: [{ id: 'toolu_9', name: 'classify', arguments: '{"intent":"card_arrival"}' }] });
    const res = await provider().stream({ ...REQ, tools: TOOLS, stream: true, stream_options: { include_usage: true } });
    expect((fake.requests[0]?.body as { stream?: boolean }).stream).toBe(true);
    const { text, error } = await drain(res.body);
    expect(error).toBeUndefined();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    for (const line of text.split('\n\n').filter((l) => l.startsWith('data: {'))) {
      expect(ChatCompletionChunkSchema.safeParse(JSON.parse(line.slice(6))).success).toBe(true);
    }
    const acc = new StreamAccumulator();
    acc.push(text);
    acc.end();
    expect(acc.summary()).toMatchObject({
      text: 'Looking it up.\nclassify({"intent":"card_arrival"})',
      toolCalls: [{ id: 'toolu_9', name: 'classify', arguments: '{"intent":"card_arrival"}' }],
      finishReason: 'tool_calls',
      usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
      done: true,
    });
  });

  it('retries 429 (honouring retry-after) and 529 overloaded like any upstream', async () => {
    fake.setBehavior({ apiKey: KEY, fail: { status: 429, times: 1, retryAfter: '2' } });
    expect((await provider().complete(REQ)).attempts).toBe(2);
    expect(sleeps).toEqual([2000]);
    fake.setBehavior({ apiKey: KEY, fail: { status: 529, type: 'overloaded_error', message: 'Overloaded' } });
    const e = await upstreamFailure(provider().complete(REQ));
    expect(e.status).toBe(502);
    expect(e.upstreamStatus).toBe(529);
    expect(e.upstreamType).toBe('overloaded_error');
    expect(e.message).toContain('Overloaded');
  });

  it('passes a 400 through with Anthropic’s message and type', async () => {
    fake.setBehavior({ apiKey: KEY, fail: { status: 400, type: 'invalid_request_error', message: 'messages: roles must alternate' } });
    const e = await upstreamFailure(provider().complete(REQ));
    expect(e.status).toBe(400);
    expect(e.message).toBe('messages: roles must alternate');
    expect(e.upstreamType).toBe('invalid_request_error');
    expect(fake.requests).toHaveLength(1);
  });

  it('passes a 401 through for a wrong key, without the key in the error', async () => {
    const e = await upstreamFailure(provider({ apiKey: 'sk-ant-wrong-999999' }).complete(REQ));
    expect(e.status).toBe(401);
    expect(e.upstreamType).toBe('authentication_error');
    expect(JSON.stringify({ m: e.message })).not.toContain('sk-ant-wrong-999999');
  });

  it('refuses an untranslatable request with a 400 without calling Anthropic', async () => {
    const e = await upstreamFailure(provider().complete({ ...REQ, n: 3 } as unknown as typeof REQ)); // (the proxy's schema refuses n != 1 first)
    expect(e.status).toBe(400);
    expect(fake.requests).toHaveLength(0);
  });

  it('throws from the iterator on an error event mid-stream', async () => {
    fake.setBehavior({ apiKey: KEY, reply: 'a b c d', chunks: 4, errorEventAfterChunks: 4 });
    const res = await provider().stream({ ...REQ, stream: true });
    const { text, error } = await drain(res.body);
    expect(text).toContain('"content":"a');
    expect(text).not.toContain('[DONE]');
    expect((error as UpstreamError).status).toBe(502);
    expect((error as UpstreamError).upstreamType).toBe('overloaded_error');
  });

  it('throws from the iterator when the connection drops mid-stream', async () => {
    fake.setBehavior({ apiKey: KEY, reply: 'a b c d', chunks: 4, dropAfterChunks: 3 });
    const res = await provider().stream({ ...REQ, stream: true });
    const { error } = await drain(res.body);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(502);
  });

  it('closes the upstream request when the translated body is given up unread', async () => {
    fake.setBehavior({ apiKey: KEY, reply: 'x'.repeat(50), chunks: 50, chunkDelayMs: 20 });
    const before = fake.stats.closedEarly;
    const res = await provider().stream({ ...REQ, stream: true });
    await res.body[Symbol.asyncIterator]().return?.();
    await vi.waitFor(() => expect(fake.stats.closedEarly).toBe(before + 1));
  });

  it('times out with 504 and cancels on abort, like the OpenAI provider', async () => {
    fake.setBehavior({ apiKey: KEY, hang: true });
    expect((await upstreamFailure(provider({ timeoutMs: 200 }).complete(REQ))).status).toBe(504);
    const before = fake.stats.closedEarly;
    const ac = new AbortController();
    const p = provider().stream({ ...REQ, stream: true }, { signal: ac.signal });
    await vi.waitFor(() => expect(fake.requests.length).toBeGreaterThanOrEqual(2));
    ac.abort();
    expect((await upstreamFailure(p)).status).toBe(499);
    await vi.waitFor(() => expect(fake.stats.closedEarly).toBe(before + 1));
  });
});
