import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { UpstreamTransport } from '../../../src/providers/upstreamTransport.js';

const HOUR = 3_600_000;

/**
 * docs/deploy.md (Clocks): a step of an instance's machine clock changes nothing. The upstream call's
 * deadline (UPSTREAM_TIMEOUT_MS, all attempts and waits) is elapsed time: measured with Date.now, a
 * step forward during a retry's wait left the next attempt a 1 ms headers timeout and gave up on a
 * provider that was about to answer; a step back stretched the deadline by the step.
 */
describe('UpstreamTransport deadline and a step of the machine clock', () => {
  let server: Server;
  let url: string;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      requests += 1;
      if (requests === 1) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}');
        return;
      }
      // A provider that answers in 1.5 s: well inside the 60 s deadline.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), 1500);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a step forward during the retry wait does not cut the next attempt short', async () => {
    const real = Date.now.bind(Date);
    const transport = new UpstreamTransport({
      baseUrl: url, upstreamName: 'test', upstreamApi: 'openai', timeoutMs: 60_000, maxRetries: 2,
      sleep: async () => {
        vi.spyOn(Date, 'now').mockImplementation(() => real() + HOUR); // NTP steps the clock an hour forward
      },
    });
    try {
      const res = await transport.post({ path: '/chat/completions', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(200);
      expect(res.attempts).toBe(2);
      await res.body.text();
    } finally {
      await transport.close();
    }
  });
});
