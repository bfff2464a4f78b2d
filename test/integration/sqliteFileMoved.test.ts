import { copyFileSync, mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_FAULT_UNREADY_MS } from '../../src/api/app.js';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * The database file deleted, or replaced by another, under the running server. SQLite in WAL mode
 * went on writing into the open, now nameless, file: every call, reward and job got a 2xx and all
 * of them were gone at the next start. Now writes answer 503 (retry-after) from at most 100 ms after
 * the change, and /readyz says down, while the path names another file or none; moved back, the file
 * is served again.
 */
const SESSIONS = '/api/v1/online/sessions';
const JOBS = '/api/policy-optimization/online/jobs';

describe('the SQLite file deleted or replaced under the running server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miprox-moved-'));
  const path = join(dir, 'miprox.db');
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { DATABASE_URL: path } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses writes with 503 while the path names another file or none, says so on /readyz, and serves again once the file is back', async () => {
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify.') } })).body as { session_id: string; job_id: string; proxy_url: string };
    let n = 0;
    const call = () => api(s.proxy_url, 'POST', `/r${n++}/chat/completions`, { body: { messages: [{ role: 'user', content: `question ${n}` }] } });
    const reward = () => api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: `r${n - 1}`, reward_info: { score: 1 } } });
    const createJob = () => api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
    const refused = async (why: RegExp) => {
      await new Promise((r) => setTimeout(r, 150)); // writes look at the file at most every 100 ms
      const answers = [await call(), await reward(), await createJob()];
      expect(answers.map((a) => [a.status, a.headers.get('retry-after'), a.body?.error?.code])).toEqual(Array(3).fill([503, '1', 'database_unavailable']));
      const ready = await api(t.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ database: 'sqlite', database_state: 'down' });
      expect(ready.body.error).toMatch(why);
      expect(ready.body.error).not.toContain(dir); // /readyz is public: no path
      expect((await api(t.url, 'GET', '/healthz')).status).toBe(200);
    };
    expect((await call()).status).toBe(200);
    expect((await reward()).status).toBe(200);
    const acked = 1;

    // Deleted (here: moved away, so that it can come back).
    renameSync(path, `${path}.away`);
    await refused(/database file was deleted/);
    // Another database put in its place (a copy of the same file: a backup restored by copying over it).
    copyFileSync(`${path}.away`, `${path}.copy`);
    renameSync(`${path}.copy`, path);
    await refused(/database file was replaced by another file/);

    // The file the server opened is back under its name: served again, by itself.
    renameSync(`${path}.away`, path);
    expect((await call()).status).toBe(200);
    expect((await reward()).status).toBe(200);
    expect((await createJob()).status).toBe(200);
    await waitFor(async () => (await api(t.url, 'GET', '/readyz')).status === 200, STORAGE_FAULT_UNREADY_MS + 2_000);

    // Only what was acknowledged is in the file: the refused writes left nothing, the rest is there.
    await waitFor(async () => (await t.server.store.rolloutCalls(s.job_id, [`r${n - 1}`])).length === 1);
    const db = new Database(path, { readonly: true });
    try {
      const job = db.prepare(`select rollout_count, reward_count, (select count(*) from rollouts where job_id = ?) as rollouts,
        (select count(*) from rewards where job_id = ?) as rewards from jobs where id = ?`).get(s.job_id, s.job_id, s.job_id);
      expect(job).toEqual({ rollout_count: acked + 1, reward_count: acked + 1, rollouts: acked + 1, rewards: acked + 1 });
    } finally {
      db.close();
    }
  }, 30_000);
});
