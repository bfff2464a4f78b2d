import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { startFakeUpstream, lastUserMessageOf, type FakeUpstream } from '../fakes/fakeUpstream.js';
import { readChatStream } from '../helpers/readStream.js';

/** The fake is only useful if real clients accept it: check it with the official OpenAI SDK. */
let fake: FakeUpstream;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeUpstream({ apiKey: 'sk-fake-key-123' });
  client = new OpenAI({ baseURL: fake.url, apiKey: 'sk-fake-key-123', maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});

describe('fake upstream speaks OpenAI chat completions', () => {
  it('answers the SDK with a completion computed from the request', async () => {
    fake.setBehavior({ apiKey: 'sk-fake-key-123', reply: (r) => lastUserMessageOf(r).toUpperCase() });
    const res = await client.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'shout' }] });
    expect(res.choices[0]?.message.content).toBe('SHOUT');
    expect(res.model).toBe('gpt-x');
    expect(res.usage?.total_tokens).toBe(19);
  });

  it('streams to the SDK, with usage when asked', async () => {
    fake.setBehavior({ apiKey: 'sk-fake-key-123', reply: 'abcdef', chunks: 3 });
    const stream = await client.chat.completions.create({
      model: 'gpt-x',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, totalTokens } = await readChatStream(stream);
    expect(text).toBe('abcdef');
    expect(totalTokens).toBe(19);
  });

  it('streams tool calls the SDK can assemble', async () => {
    fake.setBehavior({ apiKey: 'sk-fake-key-123', reply: '', toolCalls: [{ name: 'classify', arguments: '{"intent":"x"}' }] });
    const stream = client.chat.completions.stream({
      model: 'gpt-x',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'classify', parameters: { type: 'object', properties: {} } } }],
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' ? call.function : undefined).toEqual({ name: 'classify', arguments: '{"intent":"x"}' });
  });

  it('rejects a wrong key and unknown routes the way OpenAI does', async () => {
    const bad = new OpenAI({ baseURL: fake.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
    await expect(client.embeddings.create({ model: 'm', input: 'x' })).rejects.toMatchObject({ status: 404 });
  });

  it('fails N times with retry-after, then succeeds; setBehavior resets the count', async () => {
    fake.setBehavior({ apiKey: 'sk-fake-key-123', fail: { status: 429, times: 1, retryAfter: '0' } });
    const req = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }] };
    await expect(client.chat.completions.create(req)).rejects.toMatchObject({ status: 429 });
    await expect(client.chat.completions.create(req)).resolves.toBeDefined();
    fake.setBehavior({ apiKey: 'sk-fake-key-123', fail: { status: 429, times: 1 } });
    await expect(client.chat.completions.create(req)).rejects.toMatchObject({ status: 429 });
  });

  it('can skip recording bodies (benchmarks), while still counting requests', async () => {
    const quiet = await startFakeUpstream({ record: false });
    try {
      const c = new OpenAI({ baseURL: quiet.url, apiKey: 'k', maxRetries: 0 });
      await c.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
      expect(quiet.requests).toHaveLength(0);
      expect(quiet.stats.requests).toBe(1);
    } finally {
      await quiet.close();
    }
  });
});
