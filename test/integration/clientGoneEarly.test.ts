import { connect, type Socket } from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const KEY = 'mpx_client_gone_early_key_0000001';

/**
 * A client that gives up while the proxy is still looking its job up (a slow or locked database)
 * used to go unnoticed: the 'close' event came before the proxy listened for it, so the upstream call
 * was made anyway and held a connection until UPSTREAM_TIMEOUT_MS. Now it is never made, and the
 * call is recorded as failed, as for a client that leaves while the upstream answers.
 */
describe('a proxy client that leaves before its call goes upstream', () => {
  const schema = uniqueSchema('gone');
  let upstream: FakeUpstream;
  let server: RunningServer;
  let db: pg.Client;

  beforeAll(async () => {
    upstream = await startFakeUpstream({ hang: true });
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: KEY,
      OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.url, UPSTREAM_TIMEOUT_MS: '60000', UPSTREAM_MAX_RETRIES: '0',
    });
    server = await startServer(config, { logger: pino({ level: 'silent' }) });
    db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await server?.close();
    await upstream?.close();
    await dropPostgresSchema(PG_URL, schema);
  });

  it('makes no upstream call and records the call as failed', async () => {
    const s = (await api(server.url, 'POST', '/api/v1/online/sessions', { key: KEY, body: { config_body: seedJobBody({ initialPrompt: 'Answer.' }) } })).body;
    const serverSide = new Promise<Socket>((resolve) => server.app.server.once('connection', resolve));

    // The job's table is locked, so the proxy's first lookup of the job waits.
    await db.query('begin');
    await db.query(`lock table "${schema}".jobs in access exclusive mode`);
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
    const { port } = new URL(server.url);
    const client = connect(Number(port), '127.0.0.1');
    client.on('error', () => undefined);
    client.write(`POST /api/mipro/v1/${s.system_id}/r1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    const waiting = async () => (await db.query(`select count(*)::int as n from pg_locks where relation = '"${schema}".jobs'::regclass and not granted`)).rows[0].n > 0;
    await waitFor(waiting);

    // The client gives up; the server has seen its connection close before the lookup returns.
    const socket = await serverSide;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    client.destroy();
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    await db.query('commit');

    await waitFor(async () => {
      const r = await api(server.url, 'GET', `/api/systems/${s.system_id}/rollouts/r1`, { key: KEY });
      return r.status === 200 && r.body.calls.length === 1;
    });
    const rollout = (await api(server.url, 'GET', `/api/systems/${s.system_id}/rollouts/r1`, { key: KEY })).body;
    expect(rollout.calls[0]).toMatchObject({ failed: true, output_text: null });
    expect(upstream.stats.requests).toBe(0);
  });
});
