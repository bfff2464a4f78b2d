import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, seedJobBody, startTestServer, type TestServer } from '../helpers/server.js';
import { startPgRelay, type TcpRelay } from '../helpers/tcpRelay.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * PostgreSQL goes away between a proxied call's rollout record and its call record (the model was
 * answering meanwhile). The client gets its answer; the call record must still be written once the
 * database is back, not lost, leaving a rollout without its call.
 */
describe('a proxied call answered while PostgreSQL is away', () => {
  const held: ServerResponse[] = [];
  let upstream: Server;
  let relay: TcpRelay;
  let t: TestServer;
  let admin: pg.Client;
  const schema = uniqueSchema('callrec');
  beforeAll(async () => {
    // The model: answers only when the test lets it.
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => held.push(res));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const viaRelay = await startPgRelay();
    relay = viaRelay.relay;
    t = await startTestServer({
      db: 'postgres',
      env: {
        DATABASE_URL: viaRelay.url, DATABASE_SCHEMA: schema,
        OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`,
      },
    });
    admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
  });
  afterAll(async () => {
    relay.up();
    await admin.end();
    await t.close();
    await relay.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    await dropPostgresSchema(PG_URL, schema);
  });

  it('writes the call record once the database is back', async () => {
    const created = await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: seedJobBody({ initialPrompt: 'Classify the query.' }) } });
    expect(created.status).toBe(200);
    const s = created.body as { proxy_url: string };
    const rollout = async () => (await admin.query(`select status, call_count, output_text from "${schema}".rollouts where id = 'r1'`)).rows[0] as
      { status: string; call_count: number; output_text: string | null } | undefined;

    const call = api(s.proxy_url, 'POST', '/r1/chat/completions', { body: { messages: [{ role: 'user', content: 'I lost my card' }] } });
    await waitFor(async () => held.length === 1 && (await rollout()) !== undefined, 30_000);

    relay.down();
    const before = relay.accepted();
    held[0]!.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      id: 'cmpl', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'card_lost' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    }));
    const answered = await call;
    expect(answered.status).toBe(200);
    expect(answered.body.choices[0].message.content).toBe('card_lost');
    // The call record's first write meets the outage (it opens a connection the relay refuses).
    await waitFor(async () => relay.accepted() - before >= 1, 30_000);
    expect(await rollout()).toMatchObject({ call_count: 0 });
    relay.up();

    await waitFor(async () => (await rollout())?.call_count === 1, 30_000);
    expect(await rollout()).toMatchObject({ status: 'completed', output_text: 'card_lost' });
    const calls = await admin.query(`select count(*)::int as n from "${schema}".rollout_calls where rollout_id = 'r1'`);
    expect(calls.rows[0].n).toBe(1);
  }, 120_000);
});
