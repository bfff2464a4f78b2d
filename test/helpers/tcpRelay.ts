import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PG_URL } from './postgres.js';

/**
 * A loopback TCP relay in front of a real server (PostgreSQL here), for fault injection: `cut()`
 * drops every live connection as a broken network link would, `down()` refuses new ones, `up()`
 * lets them through again. `blackhole()` is a failover without a reset: bytes on the live
 * connections go nowhere (nothing tells the client they are dead) and new connections are accepted
 * but never answered; after `up()` new connections work again while the black-holed ones stay
 * silent, as the connections to a primary that vanished do. `stale()` kills the live connections
 * without telling the client (a restarted PgBouncer or NAT): its next write is answered with a reset,
 * while new connections work. The database itself is never touched.
 */
export interface TcpRelay {
  port: number;
  live(): number;
  /** Connections the relay has accepted since it started, whatever became of them. */
  accepted(): number;
  cut(): void;
  down(): void;
  blackhole(): void;
  stale(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startTcpRelay(targetHost: string, targetPort: number): Promise<TcpRelay> {
  const pairs = new Set<[Socket, Socket]>();
  // Sockets that get no answer (black-holed); kept open, destroyed only by close().
  const silent = new Set<Socket>();
  let mode: 'open' | 'refuse' | 'blackhole' = 'open';
  let accepted = 0;
  const swallow = (s: Socket) => {
    silent.add(s);
    s.on('error', () => s.destroy()).on('close', () => silent.delete(s));
    s.on('data', () => {}).resume(); // read and drop: the peer's writes never back up
  };
  const server: Server = createServer((client) => {
    accepted++;
    if (mode === 'refuse') {
      client.destroy();
      return;
    }
    if (mode === 'blackhole') {
      swallow(client);
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  /** Ends every live upstream connection without a word to its client: the clients, left open and unheard. */
  const detachClients = (): Socket[] => [...pairs].map((pair) => {
    const [client, upstream] = pair;
    client.unpipe(upstream);
    upstream.unpipe(client);
    pairs.delete(pair);
    upstream.removeAllListeners('close').on('close', () => {}).destroy();
    client.removeAllListeners('close').removeAllListeners('error');
    return client;
  });
  return {
    port: (server.address() as AddressInfo).port,
    live: () => pairs.size,
    accepted: () => accepted,
    cut,
    down: () => {
      mode = 'refuse';
      cut();
    },
    blackhole: () => {
      mode = 'blackhole';
      for (const client of detachClients()) swallow(client);
    },
    stale: () => {
      for (const client of detachClients()) {
        client.on('error', () => client.destroy());
        client.once('data', () => client.resetAndDestroy()).resume();
      }
    },
    up: () => {
      mode = 'open';
    },
    close: () => {
      cut();
      for (const s of [...silent]) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A relay in front of the test PostgreSQL, and the database URL that goes through it. */
export async function startPgRelay(): Promise<{ relay: TcpRelay; url: string }> {
  const target = new URL(PG_URL);
  const relay = await startTcpRelay(target.hostname, Number(target.port || 5432));
  const viaRelay = new URL(PG_URL);
  viaRelay.host = `127.0.0.1:${relay.port}`;
  return { relay, url: viaRelay.toString() };
}
