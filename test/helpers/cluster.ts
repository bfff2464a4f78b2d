import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnServer, waitExit, type ChildServer } from './childServer.js';

/**
 * A real cluster for the scale-out test and `npm run bench:cluster`: N `miprox serve` processes on
 * one PostgreSQL schema behind HAProxy (Debian's package; .ci/run installs it). The HAProxy
 * configuration written here is the one docs/deploy.md shows.
 */

/** HAProxy's binary, or null where it is not installed. */
export function findHaproxy(): string | null {
  for (const p of ['/usr/sbin/haproxy', '/usr/bin/haproxy', '/usr/local/sbin/haproxy']) if (existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** The configuration docs/deploy.md documents (ports filled in). */
export function haproxyConfig(listen: number, backends: readonly number[]): string {
  return `global
    maxconn 4096

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    # Above UPSTREAM_TIMEOUT_MS (120 s by default): a slow model answer, streamed or not, must not
    # be cut off by the balancer (HAProxy answers 504 when this expires first).
    timeout server 130s
    # A request that found its instance gone (refused, reset before any answer) goes to another one.
    # Safe for miprox: rewards and proxied calls are idempotent by rollout id.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend miprox_in
    bind 127.0.0.1:${listen}
    default_backend miprox

backend miprox
    balance roundrobin
    # /readyz answers 503 while the database is unreachable; a stopping instance refuses connections.
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
${backends.map((port, i) => `    server m${i + 1} 127.0.0.1:${port} check`).join('\n')}
`;
}

export interface Cluster {
  /** The balancer's origin. */
  url: string;
  /** Each instance's own origin (index = instance number). */
  instanceUrls: string[];
  kill(i: number): Promise<void>;
  restart(i: number): Promise<void>;
  /** The live instances' and the balancer's process ids (bench:cluster meters their CPU). */
  pids(): { instances: number[]; balancer: number | undefined };
  close(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  pgUrl: string;
  schema: string;
  key: string;
  env?: Record<string, string>;
}

/** Migrates the schema once (`miprox migrate`, as a rolling upgrade does), then starts instances and the balancer. */
export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const haproxy = findHaproxy();
  if (!haproxy) throw new Error('haproxy is not installed (apt-get install -y haproxy)');
  const env = { DATABASE_URL: o.pgUrl, DATABASE_SCHEMA: o.schema, MIPROX_API_KEY: o.key, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...o.env };
  const migrated = await runCli(['migrate'], env);
  if (migrated.code !== 0) throw new Error(`miprox migrate failed: ${migrated.stderr}`);
  const ports = await Promise.all(Array.from({ length: o.instances }, () => freePort()));
  const servers: (ChildServer | null)[] = await Promise.all(ports.map((port) => spawnServer({ ...env, PORT: String(port) })));
  const listen = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'miprox-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(listen, ports));
  const lb: ChildProcess = spawn(haproxy, ['-f', cfg, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let lbErr = '';
  lb.stderr?.on('data', (d: Buffer) => (lbErr += d.toString()));
  const url = `http://127.0.0.1:${listen}`;
  await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 60_000, () => `haproxy did not come up: ${lbErr}`);
  const instanceUrls = ports.map((p) => `http://127.0.0.1:${p}`);

  return {
    url,
    instanceUrls,
    async kill(i) {
      const s = servers[i];
      if (!s) return;
      s.proc.kill('SIGKILL');
      await waitExit(s.proc);
      servers[i] = null;
    },
    async restart(i) {
      servers[i] = await spawnServer({ ...env, PORT: String(ports[i]) });
    },
    pids() {
      return { instances: servers.flatMap((s) => (s?.proc.pid === undefined ? [] : [s.proc.pid])), balancer: lb.pid };
    },
    async close() {
      lb.kill('SIGTERM');
      await waitExit(lb);
      await Promise.all(servers.map(async (s) => {
        if (!s) return;
        s.proc.kill('SIGTERM');
        await waitExit(s.proc);
      }));
    },
  };
}

export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, why: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(why());
}
