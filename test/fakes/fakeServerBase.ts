import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The plumbing shared by the fake upstreams: a real HTTP server on 127.0.0.1 (random port) that reads
 * JSON bodies, records requests, and counts TCP connections (keep-alive tests) and responses the
 * client abandoned (abort tests).
 */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/v1/chat/completions`. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: unknown;
  rawBody: string;
  /** Which TCP connection carried it (1, 2, ...). */
  connectionId: number;
  receivedAt: number;
}

export interface ServerStats {
  /** TCP connections accepted so far. */
  connections: number;
  openConnections: number;
  requests: number;
  /** Responses whose connection closed before the fake finished them: the client went away. */
  closedEarly: number;
}

export type RequestHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface RecordingServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  requests: RecordedRequest[];
  stats: ServerStats;
  close(): Promise<void>;
}

export interface RecordingServerOptions {
  /** Keep request bodies (default true). Benchmarks turn it off so memory stays flat. */
  record?: boolean;
}

export async function startRecordingServer(
  handle: RequestHandler,
  opts: RecordingServerOptions = {},
): Promise<RecordingServer> {
  const record = opts.record ?? true;
  const requests: RecordedRequest[] = [];
  const stats: ServerStats = { connections: 0, openConnections: 0, requests: 0, closedEarly: 0 };
  const connectionIds = new WeakMap<object, number>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = rawBody === '' ? undefined : JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body,
        rawBody,
        connectionId: connectionIds.get(req.socket) ?? 0,
        receivedAt: Date.now(),
      };
      stats.requests++;
      if (record) requests.push(recorded);
      res.on('close', () => {
        if (!res.writableFinished) stats.closedEarly++;
      });
      Promise.resolve(handle(recorded, res)).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: String(err), type: 'fake_error' } }));
        } else {
          res.destroy();
        }
      });
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    stats.connections++;
    stats.openConnections++;
    connectionIds.set(socket, stats.connections);
    socket.on('close', () => {
      stats.openConnections--;
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function sendJson(res: ServerResponse, status: number, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}
