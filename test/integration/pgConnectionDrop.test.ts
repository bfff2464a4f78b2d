import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { spawnServer, waitExit } from '../helpers/childServer.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody, startTestServer, type TestServer } from '../helpers/server.js';
import { startPgRelay, type TcpRelay } from '../helpers/tcpRelay.js';

/**
 * Fault injection on PostgreSQL (issue 14, item 1): a pooled connection that dies must never take
 * the process down; requests that meet the outage get a 503, /readyz tells the truth, and the
 * server recovers by itself.
 */
const SESSIONS = '/api/v1/online/sessions';
const CALL = { messages: [{ role: 'user', content: 'I lost my card' }] };

function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

describe('a PostgreSQL connection dropped under a running server', () => {
  it('survives pg_terminate_backend of its pooled connections under load: only 2xx or 503, never a crash', async () => {
    const appName = `miprox_fault_${randomBytes(4).toString('hex')}`;
    const schema = uniqueSchema('fault');
    const key = `mpx_${randomBytes(24).toString('hex')}`;
    const child = await spawnServer({
      DATABASE_URL: withParams(PG_URL, { application_name: appName }),
      DATABASE_SCHEMA: schema,
      MIPROX_API_KEY: key,
    });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const created = await api(child.url, 'POST', SESSIONS, { key, body: { config_body: simJobBody({}, 'Classify the query.') } });
      expect(created.status).toBe(200);
      const session = created.body as { session_id: string; proxy_url: string };

      const statuses = new Map<number, number>();
      const failures: string[] = [];
      let stop = false;
      let n = 0;
      const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
      const client = async () => {
        while (!stop) {
          const id = `f${n++}`;
          try {
            const call = await api(session.proxy_url, 'POST', `/${id}/chat/completions`, { body: CALL });
            count(call.status);
            if (call.status !== 200) continue;
            const r = await api(child.url, 'POST', `${SESSIONS}/${session.session_id}/reward`, { key, body: { rollout_id: id, reward_info: { score: 1 } } });
            count(r.status);
            const s = await api(child.url, 'GET', `${SESSIONS}/${session.session_id}`, { key });
            count(s.status);
          } catch (err) {
            failures.push(String(err)); // connection refused or reset: the process is gone
            return;
          }
        }
      };
      let terminated = 0;
      const terminator = async () => {
        for (let round = 0; round < 8; round++) {
          await new Promise((r) => setTimeout(r, 250));
          const res = await admin.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1', [appName]);
          terminated += res.rows.filter((row: { ok: boolean }) => row.ok).length;
        }
        stop = true;
      };
      await Promise.all([terminator(), client(), client(), client(), client()]);

      expect(failures).toEqual([]);
      expect(child.proc.exitCode).toBeNull();
      expect(terminated).toBeGreaterThan(0);
      const unexpected = [...statuses.keys()].filter((s) => s !== 200 && s !== 503);
      expect(unexpected, `statuses: ${JSON.stringify([...statuses])}`).toEqual([]);
      expect(statuses.get(200) ?? 0).toBeGreaterThan(20);
      expect(child.output()).toMatch(/database connection lost/);

      const ready = await api(child.url, 'GET', '/readyz');
      expect(ready.status, JSON.stringify(ready.body)).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ready', database: 'postgres', database_state: 'up' });
      const after = await api(session.proxy_url, 'POST', '/after/chat/completions', { body: CALL });
      expect(after.status).toBe(200);
    } finally {
      child.proc.kill('SIGTERM');
      await waitExit(child.proc);
      await admin.end();
      await dropPostgresSchema(PG_URL, schema);
    }
  });

  describe('behind a link that breaks and comes back', () => {
    let relay: TcpRelay;
    let t: TestServer;
    beforeAll(async () => {
      const viaRelay = await startPgRelay();
      relay = viaRelay.relay;
      t = await startTestServer({ db: 'postgres', env: { DATABASE_URL: viaRelay.url }, start: { cacheTtlMs: 0 } });
    });
    afterAll(async () => {
      relay.up();
      await t.close();
      await relay.close();
    });

    it('answers 503 (never 500) while the database is unreachable, /readyz says so, and recovers', async () => {
      const created = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify the query.') } });
      expect(created.status).toBe(200);
      const session = created.body as { session_id: string; proxy_url: string };
      expect((await api(session.proxy_url, 'POST', '/before/chat/completions', { body: CALL })).status).toBe(200);
      expect(relay.live()).toBeGreaterThan(0);

      relay.down(); // every pooled connection breaks; new ones are refused
      await new Promise((r) => setTimeout(r, 50));

      const ready = await api(t.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'unavailable', database: 'postgres', database_state: 'down' });
      expect(ready.body.error).toMatch(/database unreachable/);

      const status = await api(t.url, 'GET', `${SESSIONS}/${session.session_id}`, { key: t.key });
      expect(status.status).toBe(503);
      expect(status.headers.get('retry-after')).toBe('1');
      expect(status.body.error).toMatchObject({ code: 'database_unavailable', request_id: status.headers.get('x-request-id') });

      const proxied = await api(session.proxy_url, 'POST', '/during/chat/completions', { body: CALL });
      expect(proxied.status).toBe(503);
      expect(proxied.body.error).toMatchObject({ type: 'api_error', code: 'database_unavailable' });

      const reward = await api(t.url, 'POST', `${SESSIONS}/${session.session_id}/reward`, { key: t.key, body: { rollout_id: 'before', reward_info: { score: 1 } } });
      expect(reward.status).toBe(503);

      relay.up();
      const back = await api(t.url, 'GET', '/readyz');
      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({ status: 'ready', database_state: 'up' });
      expect((await api(session.proxy_url, 'POST', '/after/chat/completions', { body: CALL })).status).toBe(200);
      const retried = await api(t.url, 'POST', `${SESSIONS}/${session.session_id}/reward`, { key: t.key, body: { rollout_id: 'before', reward_info: { score: 1 } } });
      expect(retried.status).toBe(200);
      expect(retried.body.duplicate).toBe(false); // the 503 committed nothing
    });

    it('/readyz stays ready when its pooled connections died unnoticed but the database answers', async () => {
      relay.up();
      // Several pooled connections at once, so the pool holds more than one idle when they die.
      const reads = await Promise.all(Array.from({ length: 4 }, () => api(t.url, 'GET', '/readyz')));
      expect(reads.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const before = relay.accepted();
      expect(relay.live()).toBeGreaterThan(1);

      relay.stale(); // the pooled connections are dead; the pool learns it only when it uses one
      const ready = await api(t.url, 'GET', '/readyz');
      expect(ready.status, JSON.stringify(ready.body)).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ready', database_state: 'up' });
      expect(relay.accepted()).toBeGreaterThan(before); // it answered over a fresh connection
    });
  });
});
