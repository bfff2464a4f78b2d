import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

/**
 * /readyz needs no key, and anyone who can reach the proxy can ask it. Its reason for "down" used to
 * be the driver's message whole: for a refused connect that is `connect ECONNREFUSED <host>:<port>`,
 * the database's address on the internal network.
 */
async function refusedConnectError(): Promise<{ error: Error; port: number }> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'test' });
  const error = await client.connect().then(() => null, (e: Error) => e);
  if (!error) throw new Error('a closed port accepted a connection');
  return { error, port };
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

/** /readyz's answer while the store's round trip fails with `error` (the store is put back after). */
async function readyzWhilePingFails(error: Error) {
  const store = t.server.store as unknown as { ping: () => Promise<void> };
  const ping = store.ping;
  store.ping = () => Promise.reject(error);
  try {
    return await api(t.url, 'GET', '/readyz');
  } finally {
    store.ping = ping;
  }
}

describe('/readyz while the database refuses connections', () => {
  it('names the failure, never the database address', async () => {
    const { error, port } = await refusedConnectError();
    expect(error.message).toContain(`127.0.0.1:${port}`); // what the driver says
    const ready = await readyzWhilePingFails(error);
    expect(ready.status).toBe(503);
    expect(ready.body.error).toBe('database unreachable: connect ECONNREFUSED <address>');
    expect(JSON.stringify(ready.body)).not.toContain(String(port));
    expect((await api(t.url, 'GET', '/readyz')).status).toBe(200);
  });

  it('names a refused login, never the role it tried', async () => {
    // What PostgreSQL itself answers for a role that does not exist (trust auth checks the role).
    const role = `miprox_probe_${process.pid}`;
    const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: role, database: 'test' });
    const error = await client.connect().then(() => null, (e: Error) => e);
    if (!error) throw new Error(`role ${role} exists`);
    expect(error.message).toContain(role); // what the driver says
    const ready = await readyzWhilePingFails(error);
    expect(ready.status).toBe(503);
    expect(ready.body.error).toBe('database unreachable: role "<name>" does not exist');
    expect(JSON.stringify(ready.body)).not.toContain(role);
  });
});
