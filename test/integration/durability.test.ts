import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer, waitExit } from '../helpers/childServer.js';
import { api, seedJobBody } from '../helpers/server.js';

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
          const r = await api(first.url, 'POST', JOBS, { key, body: seedJobBody() });
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
    const pending = Array.from({ length: 10 }, () => api(s.url, 'POST', JOBS, { key, body: seedJobBody() }));
    await new Promise((r) => setTimeout(r, 5));
    s.proc.kill('SIGTERM');
    const results = await Promise.allSettled(pending);
    expect(await waitExit(s.proc)).toBe(0);
    // Every request either completed normally or was refused before it started; none got a 5xx mid-way.
    for (const r of results) if (r.status === 'fulfilled') expect([200, 503]).toContain(r.value.status);
  });
});
