import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody, startTestServer, type TestServer } from '../helpers/server.js';
import { startPgRelay, type TcpRelay } from '../helpers/tcpRelay.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * A database that goes silent instead of refusing (a failover that moves its address, a dropped
 * route): the pooled connections stay open and nothing answers on them. Requests must get a 503
 * within the query deadline, not hang, and the instance must serve again once the database answers
 * on new connections, though the old ones stay silent forever.
 */
const SESSIONS = '/api/v1/online/sessions';
const CALL = { messages: [{ role: 'user', content: 'I lost my card' }] };
/** Far above the deadlines below: only a request that would never end reaches it. */
const NO_ANSWER_MS = 90_000;

type Answer = Awaited<ReturnType<typeof api>>;
function orNoAnswer(request: Promise<Answer>): Promise<Answer | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'no answer'>((resolve) => {
    timer = setTimeout(() => resolve('no answer'), NO_ANSWER_MS);
  });
  return Promise.race([request, late]).finally(() => clearTimeout(timer));
}
const statusOf = (a: Answer | 'no answer') => (a === 'no answer' ? a : a.status);

describe('PostgreSQL going silent under a running server', () => {
  let relay: TcpRelay | undefined;
  let t: TestServer | undefined;
  let schema: string | undefined;
  afterEach(async () => {
    relay?.up();
    await t?.close();
    await relay?.close();
    if (schema) await dropPostgresSchema(PG_URL, schema);
  });

  async function serverBehindRelay(env: Record<string, string>, cacheTtlMs: number) {
    const viaRelay = await startPgRelay();
    relay = viaRelay.relay;
    schema = uniqueSchema('silent');
    t = await startTestServer({ db: 'postgres', env: { DATABASE_URL: viaRelay.url, DATABASE_SCHEMA: schema, ...env }, start: { cacheTtlMs } });
    const created = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify the query.') } });
    expect(created.status).toBe(200);
    return { relay, t, session: created.body as { session_id: string; proxy_url: string; job_id: string } };
  }

  it('answers 503 within the query deadline while silent, and serves again once the database answers', async () => {
    const { relay, t, session } = await serverBehindRelay({ DATABASE_QUERY_TIMEOUT_MS: '2000' }, 0);
    // Several pooled connections, idle when the database goes silent.
    await Promise.all([0, 1, 2, 3, 4].map((i) => api(session.proxy_url, 'POST', `/before${i}/chat/completions`, { body: CALL })));
    expect(relay.live()).toBeGreaterThan(1);

    relay.blackhole();
    const [status, proxied, reward] = await Promise.all([
      orNoAnswer(api(t.url, 'GET', `${SESSIONS}/${session.session_id}`, { key: t.key })),
      orNoAnswer(api(session.proxy_url, 'POST', '/during/chat/completions', { body: CALL })),
      orNoAnswer(api(t.url, 'POST', `${SESSIONS}/${session.session_id}/reward`, { key: t.key, body: { rollout_id: 'before0', reward_info: { score: 1 } } })),
    ]);
    expect([statusOf(status), statusOf(proxied), statusOf(reward)]).toEqual([503, 503, 503]);
    expect((status as Answer).body.error.code).toBe('database_unavailable');
    expect((await api(t.url, 'GET', '/readyz')).status).toBe(503);

    relay.up(); // new connections reach the database; the silent ones stay silent
    await waitFor(async () => (await api(t.url, 'GET', '/readyz')).status === 200, 30_000);
    const after = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => orNoAnswer(api(session.proxy_url, 'POST', `/after${i}/chat/completions`, { body: CALL }))));
    expect(after.map(statusOf)).toEqual([200, 200, 200, 200, 200, 200]);
    const retried = await orNoAnswer(api(t.url, 'POST', `${SESSIONS}/${session.session_id}/reward`, { key: t.key, body: { rollout_id: 'before0', reward_info: { score: 1 } } }));
    expect(statusOf(retried)).toBe(200);
    expect((retried as Answer).body.duplicate).toBe(false); // the 503 committed nothing

    // Nothing half-written: the counters equal the rows, and the refused rollout left no record.
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const job = await admin.query(`select rollout_count, reward_count from "${schema}".jobs where id = $1`, [session.job_id]);
      const rows = await admin.query(`select (select count(*) from "${schema}".rollouts where job_id = $1) as rollouts,
        (select count(*) from "${schema}".rewards where job_id = $1) as rewards,
        (select count(*) from "${schema}".rollouts where job_id = $1 and id = 'during') as during`, [session.job_id]);
      expect(Number(job.rows[0].rollout_count)).toBe(Number(rows.rows[0].rollouts));
      expect(Number(job.rows[0].rollout_count)).toBe(11);
      expect(Number(job.rows[0].reward_count)).toBe(Number(rows.rows[0].rewards));
      expect(Number(rows.rows[0].during)).toBe(0);
    } finally {
      await admin.end();
    }
  }, 300_000);

  it('fails a whole hot-path batch at once in an outage instead of retrying each call alone, one deadline after another', async () => {
    // The job stays cached (no re-reads), so the only statements during the outage are the batched rollout claims.
    const { relay, session } = await serverBehindRelay({ DATABASE_QUERY_TIMEOUT_MS: '2000' }, 600_000);
    expect((await api(session.proxy_url, 'POST', '/warm/chat/completions', { body: CALL })).status).toBe(200);
    relay.cut(); // no pooled connection left: every statement from now on opens one, and the relay counts it
    await waitFor(async () => relay.live() === 0, 30_000);
    relay.blackhole();
    const opened = relay.accepted();

    // The first claim waits out its connect deadline; the other seven queue meanwhile and go as one batch.
    const calls = await Promise.all(Array.from({ length: 8 }, (_, i) => orNoAnswer(api(session.proxy_url, 'POST', `/out${i}/chat/completions`, { body: CALL }))));
    expect(calls.map(statusOf)).toEqual(Array(8).fill(503));
    // One connection per batch; retrying each call alone opened one more per call (8 or more).
    expect(relay.accepted() - opened).toBeLessThanOrEqual(4);
  }, 300_000);

  it('stays unready after the database is back while a proxied call still waits on a silent connection', async () => {
    // A long deadline, so the stuck write outlives the outage by far.
    const { relay, t, session } = await serverBehindRelay({ DATABASE_QUERY_TIMEOUT_MS: '20000' }, 600_000);
    expect((await api(session.proxy_url, 'POST', '/warm/chat/completions', { body: CALL })).status).toBe(200);

    relay.blackhole();
    let settled = false;
    const stuck = orNoAnswer(api(session.proxy_url, 'POST', '/stuck/chat/completions', { body: CALL }))
      .catch((): 'no answer' => 'no answer') // the server closed with it still open
      .finally(() => {
        settled = true;
      });
    // Each unready answer waits out the 2 s ping: after three, the stuck write is older than the 5 s limit.
    for (let unready = 0; unready < 3;) if ((await api(t.url, 'GET', '/readyz')).status === 503) unready++;
    relay.up();

    // New connections work now, but proxied calls would queue behind the stuck write: not ready.
    const ready = await api(t.url, 'GET', '/readyz');
    expect(settled).toBe(false);
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatch(/a write has waited \d+ ms/);

    // The deadline drops the dead connection: the stuck call ends (served again on a fresh connection,
    // or a 503) and the instance is ready again.
    expect([200, 503]).toContain(statusOf(await stuck));
    await waitFor(async () => (await api(t.url, 'GET', '/readyz')).status === 200, 30_000);
    expect((await api(session.proxy_url, 'POST', '/after/chat/completions', { body: CALL })).status).toBe(200);
  }, 300_000);
});
