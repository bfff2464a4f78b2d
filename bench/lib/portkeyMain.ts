/**
 * Child-process entry: the @portkey-ai/gateway Node server (its published `build/start-server.js`,
 * run unmodified) bound to 127.0.0.1 on a free port. The gateway listens on every interface at a
 * fixed port (8787 or --port); the benchmark must stay on loopback and must not collide with
 * anything, so before loading it we wrap net.Server#listen to bind 127.0.0.1 and port 0. Nothing
 * on its request path is touched. Prints `portkey listening on http://127.0.0.1:<port>`.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

type Listen = (this: net.Server, ...args: unknown[]) => net.Server;
const proto = net.Server.prototype as unknown as { listen: Listen };
const listen = proto.listen;
proto.listen = function loopbackListen(this: net.Server, ...args: unknown[]): net.Server {
  const callback = args.find((a): a is () => void => typeof a === 'function');
  this.once('listening', () => {
    const address = this.address();
    if (address && typeof address === 'object') process.stdout.write(`\nportkey listening on http://127.0.0.1:${address.port}\n`);
  });
  return listen.call(this, { port: 0, host: '127.0.0.1' }, ...(callback ? [callback] : []));
};

const pkg = createRequire(import.meta.url).resolve('@portkey-ai/gateway/package.json');
process.argv = [process.argv[0] ?? 'node', 'start-server.js', '--headless', '--port=0'];
await import(pathToFileURL(join(dirname(pkg), 'build', 'start-server.js')).href);
