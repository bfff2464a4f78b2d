import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentConnectionMs } from '../../src/api/app.js';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Node has no write timeout: a client that sent a proxied call and then stopped reading (a zero TCP
 * window) kept its connection, and the answer buffered for it, past every configured bound.
 */
describe('a client that stops reading its answer', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  let proxyUrl: URL;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // An answer larger than the socket buffers on both sides: most of it waits in the server's memory.
    fake = await startFakeUpstream({ reply: 'x'.repeat(12 * 1024 * 1024) });
    t = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, UPSTREAM_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '1000', DATABASE_QUERY_TIMEOUT_MS: '100' } });
    const job = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ proposerProvider: 'sim', proposerModel: 'sim-proposer' }) });
    proxyUrl = new URL(job.body.proxy_url as string);
    t.server.app.server.on('connection', (s: Socket) => sockets.push(s));
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('is disconnected once its connection has been silent twice as long as every bound together', async () => {
    const silent = silentConnectionMs({ requestTimeoutMs: 1000, databaseQueryTimeoutMs: 100, providers: { timeoutMs: 1000 } as never });
    expect(silent).toBe(4200);
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
    const client = connect(Number(proxyUrl.port), proxyUrl.hostname);
    client.on('error', () => {});
    await new Promise((r) => client.once('connect', r));
    client.pause();
    client.write(`POST ${proxyUrl.pathname}/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await waitFor(async () => sockets.length > 0);
    const server = sockets.at(-1)!;
    // The answer went out as far as the client's window let it: the rest waits in the server's memory.
    await waitFor(async () => server.writableLength > 0, 10_000);
    const stalledAt = Date.now();
    await waitFor(async () => server.destroyed, silent + 6000).catch(() => undefined);
    client.destroy();
    expect(server.destroyed, 'the connection was still open').toBe(true);
    expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(silent - 1000);
  }, 30_000);
});
