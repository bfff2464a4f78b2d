import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqliteLock.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Another process holds SQLite's write lock (BEGIN EXCLUSIVE in a shell or a script) for longer than
 * writes wait for it (5 s). SQLite's busy handler slept on the event loop, so each write froze the
 * whole server for 5 s, one after another: /healthz took seconds, /readyz said ready, and requests
 * queued behind each other. Now writes wait asynchronously, then answer 503 with retry-after; the
 * server stays responsive, /readyz says down, and everything recovers once the lock is released,
 * with every counter equal to the rows stored.
 */
const SESSIONS = '/api/v1/online/sessions';
const JOBS = '/api/policy-optimization/online/jobs';

describe('SQLite write lock held by another process', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'miprox-lock-')), 'miprox.db');
  let t: TestServer;
  let lock: HeldLock | null = null;
  beforeAll(async () => {
    t = await startTestServer({ env: { DATABASE_URL: path } });
  });
  afterAll(async () => {
    await lock?.release();
    await t.close();
  });

  it('answers 503 with retry-after (never 500, never frozen), /readyz says down, and all recovers with nothing half-written', async () => {
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify.') } })).body as { session_id: string; job_id: string; proxy_url: string };
    let n = 0;
    const call = () => api(s.proxy_url, 'POST', `/r${n++}/chat/completions`, { body: { messages: [{ role: 'user', content: `question ${n}` }] } });
    const reward = (id: string) => api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: id, reward_info: { score: 1 } } });
    const createJob = () => api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
    for (let i = 0; i < 3; i++) {
      expect((await call()).status).toBe(200);
      expect((await reward(`r${n - 1}`)).status).toBe(200);
    }

    lock = await holdWriteLock(path);
    const lockedAt = Date.now();
    const answers: Array<{ what: string; status: number; retryAfter: string | null; ms: number }> = [];
    const timed = async (what: string, request: () => Promise<{ status: number; headers: Headers }>) => {
      const start = Date.now();
      const res = await request();
      answers.push({ what, status: res.status, retryAfter: res.headers.get('retry-after'), ms: Date.now() - start });
    };
    const healthz: number[] = [];
    const pending: Array<Promise<void>> = [];
    // Eight seconds of traffic under the lock, a round every 250 ms; /healthz must answer at once throughout.
    while (Date.now() - lockedAt < 8_000) {
      const rid = `r${n}`;
      pending.push(timed('call', call), timed('reward', () => reward(rid)), timed('job', createJob));
      const start = Date.now();
      expect((await api(t.url, 'GET', '/healthz')).status).toBe(200);
      healthz.push(Date.now() - start);
      await new Promise((r) => setTimeout(r, 250));
    }
    // Past the wait, a write gives up at once: no queue of 5 s waits behind each other.
    const late = Date.now();
    await timed('call', call);
    expect(Date.now() - late).toBeLessThan(1_000);
    const ready = await api(t.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('1');
    expect(ready.body).toMatchObject({ database: 'sqlite', database_state: 'down' });
    expect(ready.body.error).toMatch(/write lock/);
    await Promise.all(pending);

    expect(Math.max(...healthz)).toBeLessThan(1_000);
    expect(answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
    expect(answers.filter((a) => a.status === 503 && a.retryAfter !== '1')).toEqual([]);
    for (const what of ['call', 'reward', 'job']) expect(answers.filter((a) => a.what === what && a.status === 503).length, what).toBeGreaterThan(0);
    // Nobody waited much longer than the 5 s a write waits for the lock.
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(7_000);

    await lock.release();
    lock = null;
    await waitFor(async () => (await api(t.url, 'GET', '/readyz')).status === 200, 3_000);
    expect((await call()).status).toBe(200);
    expect((await reward(`r${n - 1}`)).status).toBe(200);
    expect((await createJob()).status).toBe(200);

    // Nothing half-written: every counter equals the rows stored (call records refused during the
    // lock are written again once it is free).
    const db = new Database(path, { readonly: true });
    try {
      const counts = () => db.prepare(`select j.id, j.rollout_count, j.reward_count, j.policy_calls,
          (select count(*) from rollouts r where r.job_id = j.id) as rollouts,
          (select count(*) from rewards w where w.job_id = j.id and w.split <> 'monitor') as rewards,
          (select count(*) from rollout_calls c where c.job_id = j.id) as calls,
          (select coalesce(sum(dispatches), 0) from candidates c where c.job_id = j.id) as dispatches,
          (select coalesce(sum(online_n), 0) from candidates c where c.job_id = j.id) as online_n
        from jobs j`).all() as Array<{ id: string } & Record<"rollout_count" | "reward_count" | "policy_calls" | "rollouts" | "rewards" | "calls" | "dispatches" | "online_n", number>>;
      await waitFor(async () => counts().every((j) => j.policy_calls === j.calls), 10_000);
      for (const j of counts()) {
        expect([j.rollout_count, j.dispatches, j.reward_count, j.online_n, j.policy_calls], String(j.id)).toEqual([j.rollouts, j.rollouts, j.rewards, j.rewards, j.calls]);
      }
      const job = counts().find((j) => j.id === s.job_id)!;
      expect(job.rollouts).toBeGreaterThan(3);
    } finally {
      db.close();
    }
  }, 60_000);
});
