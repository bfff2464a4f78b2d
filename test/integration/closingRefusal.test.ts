import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { seedJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';

/** Raw HTTP/1.1 responses read off one socket until it closes. */
function responsesOf(raw: string): Array<{ status: number; headers: string; body: string }> {
  const out: Array<{ status: number; headers: string; body: string }> = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const head = rest.slice(0, rest.indexOf('\r\n\r\n'));
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const start = head.length + 4;
    out.push({ status: Number(head.slice(9, 12)), headers: head.toLowerCase(), body: rest.slice(start, start + length) });
    rest = rest.slice(start + length);
  }
  return out;
}

/**
 * A request that reaches an instance after its close() began (on a connection a balancer kept open)
 * is refused unprocessed in the documented error shape, with a code that says so: the SDK then sends
 * even a job creation or a rollout again. A request already in flight still finishes.
 */
describe('a closing server', () => {
  it('finishes the request in flight and refuses the next one on the same connection with 503 server_closing', async () => {
    const t = await startTestServer();
    const { port } = new URL(t.url);
    const body = JSON.stringify(seedJobBody({ initialPrompt: 'Classify.', provider: 'sim', model: 'sim-policy', proposerProvider: 'sim', proposerModel: 'sim-proposer' }));
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let raw = '';
    socket.on('data', (d) => { raw += d.toString('utf8'); });
    const ended = new Promise((resolve) => socket.once('close', resolve));
    const half = Math.floor(body.length / 2);
    // A job creation in flight: its headers and half its body arrive before the close.
    // In flight once the server has parsed its headers (Fastify's onRequest ran on this event, before
    // this listener): not a guess of how long that takes on a busy machine.
    const parsed = once(t.server.app.server, 'request');
    socket.write(`POST ${JOBS} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${t.key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`);
    await parsed;
    const closed = t.close();
    // The close has begun once the server stopped listening (Fastify runs preClose hooks first).
    await waitFor(async () => !t.server.app.server.listening);
    // The rest of it, and (pipelined on the same connection) a request that arrives while closing.
    socket.write(`${body.slice(half)}GET ${JOBS} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${t.key}\r\n\r\n`);
    await ended;
    await closed;
    const [inFlight, late] = responsesOf(raw);
    expect(inFlight?.status, raw).toBe(200);
    expect(JSON.parse(inFlight!.body).job_id).toMatch(/./);
    expect(late?.status, raw).toBe(503);
    expect(JSON.parse(late!.body).error).toMatchObject({ code: 'server_closing' });
    expect(late!.headers).toContain('retry-after: 0');
    expect(late!.headers).toContain('connection: close');
  });
});
