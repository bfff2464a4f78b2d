import { performance } from 'node:perf_hooks';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Closes a connection whose answer has stopped moving for `silentMs`: bytes wait to be sent and none
 * left since. Node has no write timeout, so a client that sent a proxied call and stopped reading kept
 * its connection, and the answer buffered for it (up to UPSTREAM_MAX_RESPONSE_BYTES), for as long as it
 * kept the TCP connection up. A socket inactivity timeout (Fastify's `connectionTimeout`) closed it
 * too, but re-arms a timer on every read and write of every connection: measured, it cost the proxy
 * about a quarter of its throughput and 0.3-0.5 ms per sequential call (bench:proxy, two pairs). This
 * sweep costs nothing per request: every quarter of the bound (at most 30 s) it looks at each open
 * connection and remembers only those holding unsent bytes.
 */
export function closeStalledReaders(server: Server, silentMs: number): void {
  const open = new Set<Socket>();
  const waiting = new Map<Socket, { mark: string; since: number }>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      waiting.delete(socket);
    });
  });
  const sweep = (): void => {
    const now = performance.now(); // elapsed time: a step of the machine's clock must not close or spare a reader
    for (const socket of open) {
      const unsent = socket.writableLength;
      if (unsent === 0) {
        waiting.delete(socket);
        continue;
      }
      // Moving: the client read some (fewer bytes wait) or the server wrote more (bytesWritten counts queued bytes).
      const mark = `${socket.bytesWritten}:${unsent}`;
      const seen = waiting.get(socket);
      if (seen === undefined || seen.mark !== mark) waiting.set(socket, { mark, since: now });
      else if (now - seen.since >= silentMs) socket.destroy();
    }
  };
  const timer = setInterval(sweep, Math.max(100, Math.min(30_000, Math.floor(silentMs / 4)))).unref();
  server.once('close', () => clearInterval(timer));
}
