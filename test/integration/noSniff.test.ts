import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, startTestServer } from '../helpers/server.js';

/**
 * Error bodies quote the request (`no route for GET /api/<script>...`, `unknown system ...`): every
 * answer says its content type is the truth, not only the dashboard's files.
 */
describe('x-content-type-options on every answer', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.close());

  it('is nosniff on control, proxy, operations and dashboard answers, errors included', async () => {
    const answers = await Promise.all([
      api(t.url, 'GET', '/api/nope<script>alert(1)</script>'),
      api(t.url, 'GET', '/api/policy-optimization/online/jobs'),
      api(t.url, 'GET', '/api/policy-optimization/online/jobs', { key: t.key }),
      api(t.url, 'POST', '/api/mipro/v1/sys_<img src=x>/chat/completions', { body: { messages: [] } }),
      api(t.url, 'GET', '/healthz'),
      api(t.url, 'GET', '/metrics'),
      api(t.url, 'GET', '/'),
    ]);
    expect(answers.map((a) => a.status)).toEqual([404, 401, 200, 404, 200, 200, 200]);
    for (const a of answers) expect(a.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('is nosniff on what Node refuses before any route (a malformed request line)', async () => {
    const { hostname, port } = new URL(t.url);
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.on('data', (d) => { text += d.toString(); });
    socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n');
    await new Promise((r) => socket.once('close', r));
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text.toLowerCase()).toContain('\r\nx-content-type-options: nosniff\r\n');
  });
});
