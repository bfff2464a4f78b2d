import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OpenAICompatibleProvider } from '../../src/providers/openaiCompatible.js';
import { SseParser } from '../../src/providers/sseParser.js';
import { createSeededRng } from '../../src/shared/rng.js';
import { startRecordingServer, type RecordingServer } from '../fakes/fakeServerBase.js';
import { upstreamFailure } from '../helpers/upstreamFailure.js';

/**
 * The transport reads a stream up to its first event of the answer before handing it on (upstreamTransport.ts
 * readStreamStart): over real HTTP, with the event split across writes and keep-alive comments before
 * it, an error there is retried as its status, and anything else reaches the relay byte for byte.
 */
const DONE = 'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
const ERROR = 'data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}\n\n';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** A server answering the nth streaming request with `pieces(n)`, written with a pause between them. */
async function sseServer(pieces: (n: number) => string[]): Promise<{ server: RecordingServer; provider: OpenAICompatibleProvider }> {
  let n = 0;
  const server = await startRecordingServer(async (_req, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of pieces(n++)) {
      await new Promise<void>((resolve) => res.write(piece, () => resolve()));
      await new Promise((r) => setTimeout(r, 20));
    }
    res.end();
  });
  const provider = new OpenAICompatibleProvider({
    kind: 'openai_compatible', baseUrl: `${server.origin}/v1`, timeoutMs: 3_000, maxRetries: 2, rng: createSeededRng(1), sleep: async () => undefined,
  });
  open.push(server, provider);
  return { server, provider };
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  let out = '';
  for await (const chunk of body) out += Buffer.from(chunk).toString('utf8');
  return out;
}

const REQ = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }] };

describe('a stream\'s first event, read before the stream is handed on', () => {
  it('an error after keep-alive comments, split across writes, is retried; the next stream is relayed whole', async () => {
    const { server, provider } = await sseServer((n) => (n === 0 ? [': keep-alive\n\n', ERROR.slice(0, 30), ERROR.slice(30)] : [DONE]));
    const res = await provider.stream(REQ);
    expect(res.attempts).toBe(2);
    expect(await text(res.body)).toBe(DONE);
    expect(server.requests).toHaveLength(2);
  });

  it('an error every time: after UPSTREAM_MAX_RETRIES, the error a 500 gets (502, the provider\'s type and words)', async () => {
    const { server, provider } = await sseServer(() => [ERROR]);
    const err = await upstreamFailure(provider.stream(REQ));
    expect(err).toMatchObject({ status: 502, upstreamStatus: 500, upstreamType: 'server_error' });
    expect(err.message).toMatch(/server_error at the start of its stream: The server had an error/);
    expect(server.requests).toHaveLength(3);
  });

  it('an error after the role chunk that opens every chat answer, in another write, is retried', async () => {
    const ROLE = 'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n';
    const { server, provider } = await sseServer((n) => (n === 0 ? [ROLE, ERROR] : [DONE]));
    const res = await provider.stream(REQ);
    expect(res.attempts).toBe(2);
    expect(await text(res.body)).toBe(DONE);
    expect(server.requests).toHaveLength(2);
  });

  // The bound counts events, not reads: an error after 8 empty chunks is relayed whether it came in
  // later writes or in the same write as them.
  const EMPTY_CHUNK = 'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}\n\n';
  it.each([
    ['sent on and on (a server\'s own keep-alive)', [EMPTY_CHUNK.repeat(8), ERROR]],
    ['sent in the same write as the error', [EMPTY_CHUNK.repeat(8) + ERROR]],
  ])('empty chunks %s do not hold the stream: an error after 8 of them is relayed', async (_how, writes) => {
    const { server, provider } = await sseServer(() => writes);
    const res = await provider.stream(REQ);
    expect(res.attempts).toBe(1);
    let relayed = '';
    await expect((async () => {
      for await (const chunk of res.body) relayed += Buffer.from(chunk).toString('utf8');
    })()).rejects.toThrow(/\[DONE\]/);
    expect(relayed).toBe(EMPTY_CHUNK.repeat(8) + ERROR);
    expect(server.requests).toHaveLength(1);
  });

  it('blocks that dispatch no event (retry:, id:, a lone event: line) are read past as comments are: the error after them is retried', async () => {
    const { server, provider } = await sseServer((n) => (n === 0 ? ['retry: 3000\n\n', 'id: 7\n\nevent: ping\n\n', ERROR] : [DONE]));
    const res = await provider.stream(REQ);
    expect(res.attempts).toBe(2);
    expect(await text(res.body)).toBe(DONE);
    expect(server.requests).toHaveLength(2);
  });

  it('reads each byte of the opening once: 40 writes of keep-alive comments are parsed once, not again on every read', async () => {
    const COMMENTS = `: ${'k'.repeat(1000)}\n\n`;
    const { provider } = await sseServer((n) => (n === 0 ? [...Array.from({ length: 40 }, () => COMMENTS), ERROR] : [DONE]));
    const push = vi.spyOn(SseParser.prototype, 'push');
    try {
      const res = await provider.stream(REQ);
      expect(res.attempts).toBe(2);
      expect(await text(res.body)).toBe(DONE);
      const parsed = push.mock.calls.reduce((sum, [chunk]) => sum + chunk.length, 0);
      // Once each: 40 KiB and the error, not the 800 KiB of every read's prefix again.
      expect(parsed).toBeLessThan(2 * (40 * COMMENTS.length + ERROR.length + DONE.length));
    } finally {
      push.mockRestore();
    }
  });

  it('a first event that is an answer, split mid-way, reaches the relay byte for byte, comments included', async () => {
    const { server, provider } = await sseServer(() => [': hi\n\n', DONE.slice(0, 17), DONE.slice(17, 90), DONE.slice(90)]);
    const res = await provider.stream(REQ);
    expect(res.attempts).toBe(1);
    expect(await text(res.body)).toBe(`: hi\n\n${DONE}`);
    expect(server.requests).toHaveLength(1);
  });
});
