/**
 * Child-process entry: the thinnest possible Node proxy (node:http in, one undici keep-alive Pool out,
 * bytes copied, no parsing, no routing, no persistence). It is the floor for any Node proxy on this
 * machine: the cost of one more process and two more loopback hops. Usage: bareProxyMain.ts <upstream base URL>.
 * Prints `bare proxy listening on http://127.0.0.1:<port>`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:1/v1');
const pool = new Pool(upstream.origin, { keepAliveTimeout: 30_000 });
const path = `${upstream.pathname.replace(/\/+$/, '')}/chat/completions`;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    pool
      .request({ path, method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' }, body: Buffer.concat(chunks) })
      .then(async (up) => {
        const body = Buffer.from(await up.body.arrayBuffer());
        res.writeHead(up.statusCode, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
      })
      .catch((err: unknown) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: String(err) } }));
      });
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`bare proxy listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
const stop = () => {
  server.close(() => void pool.close().then(() => process.exit(0)));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
