import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer, waitExit } from '../helpers/childServer.js';
import { api, simJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

describe('a real server process', () => {
  it('keeps every job that got a 2xx across SIGKILL and restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-kill-'));
    const env = { DATABASE_URL: join(dir, 'miprox.db') };
    const created = await runCli(['keys', 'create', '--name', 'durability', '--json'], env);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout).key as string;

    const first = await spawnServer(env);
    const acknowledged: string[] = [];
    // Four clients create jobs in a loop; the process is killed while requests are in flight.
    const client = async () => {
      for (;;) {
        try {
          const r = await api(first.url, 'POST', JOBS, { key, body: simJobBody() });
          if (r.status === 200) acknowledged.push(r.body.job_id);
          if (acknowledged.length >= 30 && first.proc.exitCode === null && first.proc.signalCode === null) first.proc.kill('SIGKILL');
        } catch {
          return; // connection refused/reset: the server is gone
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    await waitExit(first.proc);
    expect(acknowledged.length).toBeGreaterThan(0);

    const second = await spawnServer(env);
    try {
      for (const id of acknowledged) {
        const res = await api(second.url, 'GET', `${JOBS}/${id}`, { key });
        expect(res.status, id).toBe(200);
        expect(res.body.status).toBe('running');
      }
    } finally {
      second.proc.kill('SIGTERM');
      expect(await waitExit(second.proc)).toBe(0);
    }
  });

  it('counts every reward that got a 2xx exactly once across SIGKILL and restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-kill-rewards-'));
    const env = { DATABASE_URL: join(dir, 'miprox.db') };
    const key = JSON.parse((await runCli(['keys', 'create', '--name', 'r', '--json'], env)).stdout).key as string;
    const first = await spawnServer(env);
    const session = (await api(first.url, 'POST', '/api/v1/online/sessions', { key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 5 }, 'Classify the query.') } })).body;
    const acknowledged = new Map<string, number>();
    let n = 0;
    const client = async () => {
      for (;;) {
        const id = `k${n++}`;
        try {
          const call = await api(session.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'lost card' }] } });
          if (call.status !== 200) continue;
          const score = n % 3 === 0 ? 1 : 0;
          // Each reward is sent twice: retries must never count twice.
          for (let i = 0; i < 2; i++) {
            const r = await api(first.url, 'POST', `/api/v1/online/sessions/${session.session_id}/reward`, { key, body: { rollout_id: id, reward_info: { score } } });
            if (r.status === 200) acknowledged.set(id, score);
          }
          if (acknowledged.size >= 40 && first.proc.exitCode === null && first.proc.signalCode === null) first.proc.kill('SIGKILL');
        } catch {
          return;
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    await waitExit(first.proc);

    const second = await spawnServer(env);
    try {
      const stored = new Map<string, number>();
      let cursor: string | null = null;
      do {
        const page: { body: { items: Array<{ rollout_id: string; reward: number }>; next_cursor: string | null } } =
          await api(second.url, 'GET', `/api/v1/online/sessions/${session.session_id}/rewards?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { key });
        for (const r of page.body.items) {
          expect(stored.has(r.rollout_id), `duplicate reward for ${r.rollout_id}`).toBe(false);
          stored.set(r.rollout_id, r.reward);
        }
        cursor = page.body.next_cursor;
      } while (cursor);
      for (const [id, score] of acknowledged) expect(stored.get(id), id).toBe(score);
      const status = await api(second.url, 'GET', `/api/v1/online/sessions/${session.session_id}`, { key });
      expect(status.body.reward_count).toBe(stored.size);
      const perCandidate = status.body.candidates.reduce((a: number, c: { reward_count: number }) => a + c.reward_count, 0);
      expect(perCandidate).toBe(stored.size); // statistics were updated in the reward's own transaction
    } finally {
      second.proc.kill('SIGTERM');
      await waitExit(second.proc);
    }
  });

  it('stops with a message naming every bad variable', async () => {
    const res = await runCli(['serve'], { PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: join(tmpdir(), 'x.db') });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/PORT/);
    expect(res.stderr).toMatch(/LOG_LEVEL/);
    expect(res.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack trace
  });

  it('finishes in-flight requests on SIGTERM before exiting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-term-'));
    const env = { DATABASE_URL: join(dir, 'miprox.db') };
    const key = JSON.parse((await runCli(['keys', 'create', '--name', 't', '--json'], env)).stdout).key as string;
    const s = await spawnServer(env);
    const pending = Array.from({ length: 10 }, () => api(s.url, 'POST', JOBS, { key, body: simJobBody() }));
    await new Promise((r) => setTimeout(r, 5));
    s.proc.kill('SIGTERM');
    const results = await Promise.allSettled(pending);
    expect(await waitExit(s.proc)).toBe(0);
    // Every request either completed normally or was refused before it started; none got a 5xx mid-way.
    for (const r of results) if (r.status === 'fulfilled') expect([200, 503]).toContain(r.value.status);
  });
});
