import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

/**
 * Clients that break HTTP itself, before any route runs: a body sent a byte at a time (it held a
 * connection forever: fastify's default request timeout is none), a malformed request line, headers
 * over Node's limit. Each gets the documented error shape, the server stays up, nothing is written.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const TIMEOUT_MS = 1000;

/** Writes `head` on a raw connection, then `drip` one byte every `everyMs`; resolves with what came back once the server closes. */
function rawExchange(port: number, head: string, opts: { drip?: string; everyMs?: number; giveUpMs: number }): Promise<{ text: string; closedAfterMs: number | null }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => finish(null), opts.giveUpMs);
    function finish(closedAfterMs: number | null) {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ text, closedAfterMs });
    }
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => finish(Date.now() - started));
    socket.on('error', () => undefined);
    socket.write(head);
    let sent = 0;
    if (opts.drip) {
      timer = setInterval(() => {
        if (sent < opts.drip!.length && !socket.destroyed) socket.write(opts.drip![sent++]!);
      }, opts.everyMs ?? 200);
    }
  });
}

/** Status line, `x-request-id` header and JSON body of a raw HTTP answer. */
function parseAnswer(text: string): { status: number; requestId: string | null; body: any } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  const requestId = /^x-request-id: (.*)$/im.exec(head)?.[1] ?? null;
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, requestId, body: body ? JSON.parse(body) : null };
}

/** Every answer carries x-request-id (SPEC.md), a refusal before any route too: the same id as the body's. */
function expectRequestId(answer: { requestId: string | null; body: any }): void {
  expect(answer.requestId, 'no x-request-id header').toMatch(/^req_/);
  expect(answer.body.error.request_id).toBe(answer.requestId);
}

describe('clients that break HTTP before a route runs', () => {
  let t: TestServer;
  let port: number;
  let fake: FakeUpstream;
  useFakeUpstreamServer({ upstream: {}, env: { REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) } }, (s) => ({ fake, t } = s));
  beforeAll(() => {
    port = Number(new URL(t.url).port);
  });

  it('answers a body sent a byte at a time with a 408 in the documented shape once REQUEST_TIMEOUT_MS is over', async () => {
    const body = JSON.stringify(seedJobBody());
    const head = `POST ${JOBS} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${t.key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const res = await rawExchange(port, head, { drip: body, everyMs: 200, giveUpMs: 10_000 });
    expect(res.closedAfterMs, 'the server never closed the connection').not.toBeNull();
    expect(res.closedAfterMs!).toBeLessThan(TIMEOUT_MS + 2000);
    const answer = parseAnswer(res.text);
    expect(answer.status).toBe(408);
    expect(answer.body.error).toEqual({ code: 'request_timeout', message: expect.stringMatching(/within 1000 ms \(REQUEST_TIMEOUT_MS\)/), details: [], request_id: expect.any(String) });
    expectRequestId(answer);
    expect((await t.server.store.listJobs(t.tenantId, { limit: 10 })).items).toHaveLength(0);
    expect((await api(t.url, 'GET', '/healthz')).status).toBe(200);

    // The deadline is for receiving the request: a streamed answer that lasts longer is not cut.
    fake.setBehavior({ reply: 'one two three four five six', chunks: 6, chunkDelayMs: 500 });
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body;
    const started = Date.now();
    const streamed = await fetch(`${job.proxy_url}/slow-1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ stream: true, messages: [{ role: 'system', content: 'Classify.' }, { role: 'user', content: 'x' }] }),
    });
    const text = await streamed.text();
    expect(Date.now() - started).toBeGreaterThan(TIMEOUT_MS + 500);
    expect(text).toMatch(/data: \[DONE\]/);
  });

  it('answers a malformed request and oversized headers in the documented shape, with a message that says what was wrong', async () => {
    const garbage = parseAnswer((await rawExchange(port, 'GARBAGE\r\n\r\n', { giveUpMs: 5000 })).text);
    expect(garbage.status).toBe(400);
    expect(garbage.body.error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/^malformed HTTP request/), details: [] });
    expectRequestId(garbage);
    const big = parseAnswer((await rawExchange(port, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, { giveUpMs: 5000 })).text);
    expect(big.status).toBe(431);
    expect(big.body.error).toMatchObject({ code: 'headers_too_large', message: expect.stringMatching(/headers are larger/) });
    expectRequestId(big);
    expect(big.requestId).not.toBe(garbage.requestId);
    expect((await api(t.url, 'GET', '/healthz')).status).toBe(200);
  });
});
