import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_FAULT_UNREADY_MS } from '../../src/api/app.js';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * Issue 14, item 11: on a full disk, proxy calls and rewards got a 500 while /readyz said ready.
 * The disk is made "full" for SQLite itself with PRAGMA max_page_count on the server's own
 * connection: writes then fail with SQLITE_FULL, exactly as on a full file system.
 */
const SESSIONS = '/api/v1/online/sessions';
const JOBS = '/api/policy-optimization/online/jobs';

describe('a full disk on SQLite', () => {
  let t: TestServer;
  let db: Kysely<unknown>;
  beforeAll(async () => {
    t = await startTestServer();
    db = (t.server.store as unknown as { db: Kysely<unknown> }).db;
  });
  afterAll(async () => {
    await sql`PRAGMA max_page_count = 1073741823`.execute(db);
    await t.close();
  });

  it('answers 503 (never 500), /readyz says the storage is failing, and both recover', async () => {
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify.') } })).body;
    const call = (id: string) => api(s.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'x'.repeat(4000) }] } });
    expect((await call('before')).status).toBe(200);
    const pages = (await sql<{ page_count: number }>`PRAGMA page_count`.execute(db)).rows[0]!.page_count;
    await sql.raw(`PRAGMA max_page_count = ${pages}`).execute(db);

    const statuses: number[] = [];
    for (let i = 0; i < 40 && !statuses.includes(503); i++) {
      statuses.push((await call(`full-${i}`)).status);
      statuses.push((await api(t.url, 'POST', JOBS, { key: t.key, body: { ...simJobBody(), metadata: { pad: 'y'.repeat(8000) } } })).status);
    }
    expect(statuses).toContain(503);
    expect(statuses.filter((x) => x !== 200 && x !== 503)).toEqual([]);

    const ready = await api(t.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ database: 'sqlite', database_state: 'down' });
    expect(ready.body.error).toMatch(/SQLITE_FULL/);
    const reward = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: 'before', reward_info: { score: 1 } } });
    expect([200, 503]).toContain(reward.status);

    await sql`PRAGMA max_page_count = 1073741823`.execute(db);
    await new Promise((r) => setTimeout(r, STORAGE_FAULT_UNREADY_MS + 100));
    expect((await api(t.url, 'GET', '/readyz')).status).toBe(200);
    expect((await call('after')).status).toBe(200);
  });
});
