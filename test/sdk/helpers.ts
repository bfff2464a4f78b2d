import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seedJobBody } from '../helpers/server.js';

/** The seed's job request with the offline simulator as policy and proposer. */
export function simJobBody(mipro: Record<string, unknown> = {}) {
  const body = seedJobBody({ provider: 'sim', model: 'sim-policy', proposerProvider: 'sim', proposerModel: 'sim-proposer' });
  Object.assign(body.policy_optimization.mipro, mipro);
  return body;
}

export interface RecordedRequest { method: string; url: string; headers: IncomingMessage['headers']; body: string }

export interface ScriptedServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export type ScriptedReply = { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number };

/**
 * A tiny loopback HTTP server that answers from a script, one reply per request (the last one
 * repeats), and records what it received. For retry and timeout behaviour a real miprox cannot be
 * made to show on demand.
 */
/** `port`: 0 for any free one, or a given one (a server coming back where it was). */
export async function startScriptedServer(script: ScriptedReply[], port = 0): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const reply = script[Math.min(requests.length - 1, script.length - 1)] ?? { status: 500 };
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A loopback port with nothing listening (bound, then released). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A job document as the server sends it, for scripted servers. */
export function fakeJob(overrides: Record<string, unknown> = {}) {
  const proxy = 'http://127.0.0.1:1/api/mipro/v1/sys_0123';
  return {
    job_id: 'pl_0123', status: 'running', system_id: 'sys_0123', session_id: 'sys_0123',
    proxy_url: proxy, online_url: proxy, chat_completions_url: `${proxy}/chat/completions`,
    best_score: null, best_score_ci: null, best_score_source: null, best_candidate_id: null, best_prompt: null,
    best_program: null, modules: [], baseline_score: null, rollout_count: 0, reward_count: 0, proposal_seq: 0, phase: 'online',
    metadata: {}, created_at: '2025-01-01T00:00:00.000Z', updated_at: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}
