import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer } from 'node:net';
import { OpenAICompatibleProvider, type OpenAICompatibleOptions } from '../../src/providers/openaiCompatible.js';
import { StreamAccumulator } from '../../src/providers/sse.js';
import type { ChatCompletionRequest } from '../../src/schemas/openai.js';
import { UpstreamError } from '../../src/shared/errors.js';
import { createSeededRng } from '../../src/shared/rng.js';
import { startFakeUpstream, systemPromptOf, type FakeUpstream } from '../fakes/fakeUpstream.js';
import { sendJson, startRecordingServer } from '../fakes/fakeServerBase.js';
import { upstreamFailure } from '../helpers/upstreamFailure.js';

const KEY = 'sk-test-secret-abcdef123456';
const REQ: ChatCompletionRequest = {
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a classifier.' },
    { role: 'user', content: 'my card has not arrived' },
  ],
  temperature: 0,
};

let fake: FakeUpstream;
const open: OpenAICompatibleProvider[] = [];
let sleeps: number[] = [];

/** A provider whose retry waits are recorded and skipped, so retry tests take no wall time. */
function provider(overrides: Partial<OpenAICompatibleOptions> = {}): OpenAICompatibleProvider {
  const p = new OpenAICompatibleProvider({
    kind: 'openai',
    baseUrl: fake.url,
    apiKey: KEY,
    timeoutMs: 5_000,
    maxRetries: 2,
    rng: createSeededRng(42),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  });
  open.push(p);
  return p;
}


async function drain(body: AsyncIterable<Uint8Array>): Promise<{ text: string; chunks: number; error: unknown }> {
  let text = '';
  let chunks = 0;
  try {
    for await (const c of body) {
      text += Buffer.from(c).toString('utf8');
      chunks++;
    }
  } catch (error) {
    return { text, chunks, error };
  }
  return { text, chunks, error: undefined };
}

beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  fake.setBehavior({});
  fake.requests.length = 0;
  sleeps = [];
});

describe('OpenAICompatibleProvider: answers', () => {
  it('complete returns the upstream body unchanged plus its parsed form', async () => {
    fake.setBehavior({ reply: (r) => `echo: ${systemPromptOf(r)}` });
    const res = await provider().complete(REQ);
    expect(res.attempts).toBe(1);
    expect(res.json.choices[0]?.message.content).toBe('echo: You are a classifier.');
    expect(JSON.parse(res.raw)).toEqual(res.json);
    const seen = fake.requests[0];
    expect(seen?.url).toBe('/v1/chat/completions');
    expect(seen?.body).toEqual(REQ);
    expect(seen?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(seen?.headers['content-type']).toBe('application/json');
  });

  it('complete never asks for a stream', async () => {
    await provider().complete({ ...REQ, stream: true, stream_options: { include_usage: true } });
    expect(fake.requests[0]?.body).toEqual(REQ);
  });

  it('sends no authorization header without a key (local servers)', async () => {
    await provider({ kind: 'openai_compatible', apiKey: undefined }).complete(REQ);
    expect(fake.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('stream relays the SSE bytes as they come and asks for a stream', async () => {
    fake.setBehavior({ reply: 'one two three four', chunks: 4 });
    const res = await provider().stream({ ...REQ, stream_options: { include_usage: true } });
    expect(res.attempts).toBe(1);
    const { text, error } = await drain(res.body);
    expect(error).toBeUndefined();
    expect((fake.requests[0]?.body as { stream?: boolean }).stream).toBe(true);
    expect(text.startsWith('data: {"id":"chatcmpl-fake"')).toBe(true);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const acc = new StreamAccumulator();
    acc.push(text);
    acc.end();
    expect(acc.summary()).toMatchObject({ text: 'one two three four', done: true, usage: { total_tokens: 19 } });
  });

  it('relays tool-call answers in both modes', async () => {
    fake.setBehavior({ reply: '', toolCalls: [{ name: 'classify', arguments: '{"intent":"card_arrival"}' }] });
    const res = await provider().complete({ ...REQ, tools: [{ type: 'function', function: { name: 'classify' } }] });
    expect(res.json.choices[0]?.finish_reason).toBe('tool_calls');
    expect(res.json.choices[0]?.message.tool_calls).toHaveLength(1);
    const s = await provider().stream(REQ);
    const acc = new StreamAccumulator();
    acc.push((await drain(s.body)).text);
    acc.end();
    expect(acc.summary().toolCalls).toEqual([{ id: 'call_fake_0', name: 'classify', arguments: '{"intent":"card_arrival"}' }]);
  });

  it('keeps a query string of the base URL (e.g. api-version)', async () => {
    const custom = await startRecordingServer((_req, res) =>
      sendJson(res, 200, JSON.stringify({ id: 'x', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' } }] })),
    );
    try {
      await provider({ baseUrl: `${custom.origin}/openai/v1?api-version=2024-10-21` }).complete(REQ);
      expect(custom.requests[0]?.url).toBe('/openai/v1/chat/completions?api-version=2024-10-21');
    } finally {
      await custom.close();
    }
  });
});

describe('OpenAICompatibleProvider: retries', () => {
  it('retries a 429 honouring retry-after (seconds), then succeeds', async () => {
    fake.setBehavior({ fail: { status: 429, times: 2, retryAfter: '1' } });
    const res = await provider().complete(REQ);
    expect(res.attempts).toBe(3);
    expect(sleeps).toEqual([1000, 1000]);
    expect(fake.requests).toHaveLength(3);
  });

  it('honours retry-after as an HTTP date', async () => {
    fake.setBehavior({ fail: { status: 429, times: 1, retryAfter: new Date(Date.now() + 3_000).toUTCString() } });
    const res = await provider().complete(REQ);
    expect(res.attempts).toBe(2);
    // HTTP dates have whole seconds: 3 s ahead is between 2 and 3 s away.
    expect(sleeps[0]).toBeGreaterThan(1_000);
    expect(sleeps[0]).toBeLessThanOrEqual(3_000);
  });

  it('really waits retry-after before the next attempt (real clock)', async () => {
    fake.setBehavior({ fail: { status: 429, times: 1, retryAfter: '1' } });
    const p = new OpenAICompatibleProvider({ kind: 'openai', baseUrl: fake.url, apiKey: KEY, timeoutMs: 5_000, maxRetries: 1 });
    open.push(p);
    const res = await p.complete(REQ);
    expect(res.attempts).toBe(2);
    const [first, second] = fake.requests;
    expect((second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('caps a huge retry-after', async () => {
    fake.setBehavior({ fail: { status: 429, times: 1, retryAfter: '86400' } });
    await provider({ timeoutMs: 60_000, retry: { maxRetryAfterMs: 2_000 } }).complete(REQ);
    expect(sleeps).toEqual([2_000]);
  });

  it('gives up at once when retry-after is past the deadline, keeping the 429', async () => {
    fake.setBehavior({ fail: { status: 429, retryAfter: '20', message: 'Rate limit reached' } });
    const e = await upstreamFailure(provider({ timeoutMs: 3_000 }).complete(REQ));
    expect(e.status).toBe(429);
    expect(e.message).toBe('Rate limit reached');
    expect(e.retryHeaders).toEqual({ 'retry-after': '20' }); // relayed to the client with the 429
    expect(fake.requests).toHaveLength(1);
  });

  it('keeps 429 once retries are exhausted', async () => {
    fake.setBehavior({ fail: { status: 429, message: 'Rate limit reached for gpt-4o-mini' } });
    const e = await upstreamFailure(provider({ maxRetries: 3 }).complete(REQ));
    expect(e.status).toBe(429);
    expect(e.upstreamStatus).toBe(429);
    expect(e.upstreamType).toBe('rate_limit_error');
    expect(fake.requests).toHaveLength(4);
  });

  it('does not retry an error the upstream marks x-should-retry: false, and relays the header', async () => {
    fake.setBehavior({ fail: { status: 500, message: 'The server had an error', headers: { 'x-should-retry': 'false' } } });
    const e = await upstreamFailure(provider({ maxRetries: 3 }).complete(REQ));
    expect(e.status).toBe(502);
    expect(fake.requests).toHaveLength(1);
    expect(e.retryHeaders).toEqual({ 'x-should-retry': 'false' }); // the client's SDK gives up too
  });

  it('retries a status it would not, when the upstream marks it x-should-retry: true', async () => {
    fake.setBehavior({ fail: { status: 409, times: 1, message: 'busy', headers: { 'x-should-retry': 'true' } } });
    await provider({ maxRetries: 3 }).complete(REQ);
    expect(fake.requests).toHaveLength(2);
  });

  it('turns 500s into a 502 after the configured retries, with growing jittered backoff', async () => {
    fake.setBehavior({ fail: { status: 500, message: 'The server had an error' } });
    const e = await upstreamFailure(provider({ maxRetries: 3, retry: { baseDelayMs: 100, maxDelayMs: 10_000 } }).complete(REQ));
    expect(e.status).toBe(502);
    expect(e.upstreamStatus).toBe(500);
    expect(e.message).toContain('The server had an error');
    expect(fake.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    [100, 200, 400].forEach((step, i) => {
      expect(sleeps[i]).toBeGreaterThanOrEqual(step / 2);
      expect(sleeps[i]).toBeLessThanOrEqual(step);
    });
  });

  it('recovers from a single 503', async () => {
    fake.setBehavior({ fail: { status: 503, times: 1 } });
    expect((await provider().complete(REQ)).attempts).toBe(2);
  });

  it('retries before a stream starts', async () => {
    fake.setBehavior({ fail: { status: 500, times: 2 } });
    const res = await provider().stream(REQ);
    expect(res.attempts).toBe(3);
    expect((await drain(res.body)).text).toContain('[DONE]');
  });

  it('passes a 4xx through with its status, message, type and code, without retrying', async () => {
    fake.setBehavior({ fail: { status: 400, message: "This model's maximum context length is 128000 tokens.", code: 'context_length_exceeded' } });
    const e = await upstreamFailure(provider().complete(REQ));
    expect(e.status).toBe(400);
    expect(e.message).toBe("This model's maximum context length is 128000 tokens.");
    expect(e.upstreamType).toBe('invalid_request_error');
    expect(e.code).toBe('context_length_exceeded');
    expect(fake.requests).toHaveLength(1);
  });

  it('passes 401 through when the server key is refused, without the key in the message', async () => {
    const echo = await startRecordingServer((req, res) =>
      sendJson(res, 401, JSON.stringify({ error: { message: `Incorrect API key provided: ${String(req.headers.authorization)}`, type: 'invalid_request_error', code: 'invalid_api_key' } })),
    );
    try {
      const e = await upstreamFailure(provider({ baseUrl: `${echo.origin}/v1` }).complete(REQ));
      expect(e.status).toBe(401);
      expect(e.code).toBe('invalid_api_key');
      expect(e.message).not.toContain(KEY);
      expect(JSON.stringify(e)).not.toContain(KEY);
    } finally {
      await echo.close();
    }
  });
});

describe('OpenAICompatibleProvider: timeouts, unreachable, bad answers', () => {
  it('times out with 504 when the upstream never answers, without retrying', async () => {
    fake.setBehavior({ hang: true });
    const started = Date.now();
    const e = await upstreamFailure(provider({ timeoutMs: 300 }).complete(REQ));
    expect(e.status).toBe(504);
    expect(e.code).toBe('upstream_timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(fake.requests).toHaveLength(1);
  });

  it('lets the caller override the timeout per call', async () => {
    // undici's timers tick every ~0.5 s, so the delay is well past the override's firing time.
    fake.setBehavior({ delayMs: 1_500 });
    const p = provider({ timeoutMs: 5_000 });
    const e = await upstreamFailure(p.complete(REQ, { timeoutMs: 100 }));
    expect(e.status).toBe(504);
    expect(e.message).toContain('100 ms');
    expect((await p.complete(REQ)).attempts).toBe(1);
  });

  it('reports an unreachable upstream as 502 after retrying', async () => {
    const port = await closedPort();
    const e = await upstreamFailure(provider({ baseUrl: `http://127.0.0.1:${port}/v1` }).complete(REQ));
    expect(e.status).toBe(502);
    expect(e.message).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(sleeps).toHaveLength(2);
  });

  it('reports a 2xx that is not JSON, or not a completion, as 502', async () => {
    let body = '<html>gateway</html>';
    const custom = await startRecordingServer((_req, res) => sendJson(res, 200, body));
    try {
      const p = provider({ baseUrl: `${custom.origin}/v1` });
      expect((await upstreamFailure(p.complete(REQ))).status).toBe(502);
      body = JSON.stringify({ error: { message: 'model is loading' } });
      const e = await upstreamFailure(p.complete(REQ));
      expect(e.status).toBe(502);
      expect(e.message).toContain('model is loading');
    } finally {
      await custom.close();
    }
  });
});

describe('OpenAICompatibleProvider: streams that break', () => {
  it('throws an UpstreamError from the iterator when the connection drops mid-stream', async () => {
    fake.setBehavior({ reply: 'a b c d e f', chunks: 6, dropAfterChunks: 3 });
    const res = await provider().stream(REQ);
    const { text, error } = await drain(res.body);
    expect(text).toContain('data: ');
    expect(text).not.toContain('[DONE]');
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(502);
    expect((error as UpstreamError).code).toBe('upstream_stream_error');
    expect(fake.requests).toHaveLength(1); // no retry after the answer started
  });

  it('throws 504 from the iterator when the stream goes silent past the timeout', async () => {
    fake.setBehavior({ chunks: 5, stallAfterChunks: 2 });
    const res = await provider({ timeoutMs: 300 }).stream(REQ);
    const { chunks, error } = await drain(res.body);
    expect(chunks).toBeGreaterThan(0);
    expect((error as UpstreamError).status).toBe(504);
  });
});

describe('OpenAICompatibleProvider: abort', () => {
  it('cancels a pending upstream request when the caller aborts', async () => {
    fake.setBehavior({ hang: true });
    const before = fake.stats.closedEarly;
    const ac = new AbortController();
    const p = provider().complete(REQ, { signal: ac.signal });
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
    ac.abort();
    const e = await upstreamFailure(p);
    expect(e.status).toBe(499);
    await vi.waitFor(() => expect(fake.stats.closedEarly).toBe(before + 1));
  });

  it('cancels a running stream when the caller aborts', async () => {
    fake.setBehavior({ reply: 'x'.repeat(100), chunks: 100, chunkDelayMs: 20 });
    const before = fake.stats.closedEarly;
    const ac = new AbortController();
    const res = await provider().stream(REQ, { signal: ac.signal });
    let seen = 0;
    let caught: unknown;
    try {
      for await (const _chunk of res.body) {
        if (++seen === 2) ac.abort();
      }
    } catch (err) {
      caught = err;
    }
    expect((caught as UpstreamError).status).toBe(499);
    await vi.waitFor(() => expect(fake.stats.closedEarly).toBe(before + 1));
  });

  it('closes the upstream request when the consumer stops reading', async () => {
    fake.setBehavior({ reply: 'x'.repeat(100), chunks: 100, chunkDelayMs: 20 });
    const before = fake.stats.closedEarly;
    const res = await provider().stream(REQ);
    for await (const _chunk of res.body) break;
    await vi.waitFor(() => expect(fake.stats.closedEarly).toBe(before + 1));
  });

  it('closes the upstream request when the body is given up before the first chunk', async () => {
    fake.setBehavior({ reply: 'x'.repeat(100), chunks: 100, chunkDelayMs: 20 });
    const before = fake.stats.closedEarly;
    const res = await provider().stream(REQ);
    await res.body[Symbol.asyncIterator]().return?.();
    await vi.waitFor(() => expect(fake.stats.closedEarly).toBe(before + 1));
  });

  it('stops waiting for a retry when the caller aborts', async () => {
    fake.setBehavior({ fail: { status: 429, retryAfter: '10' } });
    const p = new OpenAICompatibleProvider({ kind: 'openai', baseUrl: fake.url, apiKey: KEY, timeoutMs: 30_000, maxRetries: 2 });
    open.push(p);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    const e = await upstreamFailure(p.complete(REQ, { signal: ac.signal }));
    expect(e.status).toBe(499);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('OpenAICompatibleProvider: keep-alive', () => {
  /**
   * Proxied calls arrive as separate I/O events. Back-to-back calls in one microtask chain would race
   * undici's bookkeeping of which socket is free and open a second one, which real traffic never does.
   */
  const nextEvent = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('reuses one connection for sequential calls, JSON and SSE alike', async () => {
    const before = fake.stats.connections;
    const p = provider();
    for (let i = 0; i < 30; i++) {
      await p.complete(REQ);
      await nextEvent();
    }
    for (let i = 0; i < 5; i++) {
      await drain((await p.stream(REQ)).body);
      await nextEvent();
    }
    for (let i = 0; i < 10; i++) {
      await p.complete(REQ);
      await nextEvent();
    }
    expect(fake.stats.connections - before).toBe(1);
    expect(fake.stats.openConnections).toBeGreaterThanOrEqual(1);
  });

  it('opens no more sockets than concurrent calls', async () => {
    const before = fake.stats.connections;
    const p = provider();
    const concurrency = 8;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < 400) {
        next++;
        await p.complete(REQ);
        await nextEvent();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(fake.stats.connections - before).toBeLessThanOrEqual(concurrency);
  });
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const address = srv.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
