import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORAGE_FAULT_UNREADY_MS } from '../../src/api/app.js';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';
import { canMakeImmutable, setImmutable } from '../helpers/immutableFile.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * The SQLite files become unwritable under the running server. chmod does nothing here: SQLite keeps
 * the descriptors it opened (and root ignores modes anyway); a file made immutable cannot be written
 * even through those, as on a disk remounted read-only or failing. The database file alone: commits
 * go on (they go to the WAL), only checkpoints fail. The WAL too: every write answers 503 and /readyz
 * says down; once writable again, everything is served, and the background checkpoints go on (their
 * worker used to die of the first failed checkpoint, leaving the server checkpointing on the event loop).
 */
const SESSIONS = '/api/v1/online/sessions';
const JOBS = '/api/policy-optimization/online/jobs';

describe.skipIf(!canMakeImmutable())('SQLite files made unwritable under the running server', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'miprox-ro-')), 'miprox.db');
  const files = [path, `${path}-wal`];
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { DATABASE_URL: path } });
  });
  afterAll(async () => {
    for (const f of files) setImmutable(f, false);
    await t.close();
  });

  it('answers 503 while the WAL cannot be written, /readyz says down, and both recover with checkpoints still off the event loop', async () => {
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify.') } })).body as { session_id: string; proxy_url: string };
    let n = 0;
    const call = () => api(s.proxy_url, 'POST', `/r${n++}/chat/completions`, { body: { messages: [{ role: 'user', content: `question ${n} ${'x'.repeat(2000)}` }] } });
    const reward = () => api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: `r${n - 1}`, reward_info: { score: 1 } } });
    const createJob = () => api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
    expect((await call()).status).toBe(200);

    // The database file only: served as before (commits go to the WAL); a checkpoint or two fails.
    setImmutable(path, true);
    for (let i = 0; i < 5; i++) {
      expect((await call()).status).toBe(200);
      expect((await reward()).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }

    setImmutable(`${path}-wal`, true);
    const answers = [await call(), await reward(), await createJob()];
    expect(answers.map((a) => [a.status, a.headers.get('retry-after'), a.body?.error?.code])).toEqual(Array(3).fill([503, '1', 'database_unavailable']));
    const ready = await api(t.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ database: 'sqlite', database_state: 'down' });
    expect(ready.body.error).toMatch(/SQLITE_IOERR/);
    expect((await api(t.url, 'GET', '/healthz')).status).toBe(200);

    for (const f of files) setImmutable(f, false);
    expect((await call()).status).toBe(200);
    expect((await reward()).status).toBe(200);
    expect((await createJob()).status).toBe(200);
    await waitFor(async () => (await api(t.url, 'GET', '/readyz')).status === 200, STORAGE_FAULT_UNREADY_MS + 2_000);
    // The checkpoint worker lived through it: the server's connection never checkpoints in its commits.
    const db = (t.server.store as unknown as { db: Kysely<unknown> }).db;
    expect((await sql<{ wal_autocheckpoint: number }>`PRAGMA wal_autocheckpoint`.execute(db)).rows[0]!.wal_autocheckpoint).toBe(0);
  }, 30_000);
});
