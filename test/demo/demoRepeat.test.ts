import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer, waitExit } from '../helpers/childServer.js';
import { api } from '../helpers/server.js';

/**
 * Issue 16 item 8: the demo left its job running, created a new `demo` key on every run, and
 * reported more rollouts than the server counted (confirmation requests that found no work).
 */
describe('miprox demo, run twice on one database', () => {
  it('ends each job as succeeded, reuses one demo key, and reports what the server counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-demo-repeat-'));
    const db = join(dir, 'demo.db');
    const env = { DATABASE_URL: db, MIPROX_API_KEY: '', HOME: dir };
    // A key file left readable by others (an older release, or made by hand) is made the owner's alone.
    writeFileSync(`${db}.demo-key`, 'mpx_stale_key_no_longer_valid\n', { mode: 0o644 });
    const outs: Array<{ job_id: string; status: string; rollouts: number; rewards: number }> = [];
    for (let run = 0; run < 2; run++) {
      const res = await runCli(['demo', '--json', '--rollouts', '40', '--port', '0'], env);
      expect(res.code, res.stderr).toBe(0);
      outs.push(JSON.parse(res.stdout));
      if (run === 0) chmodSync(`${db}.demo-key`, 0o644); // the second run reuses the key: its file is made private again too
    }
    for (const out of outs) expect(out.status).toBe('succeeded');

    const keys = JSON.parse((await runCli(['keys', 'list', '--json'], env)).stdout) as Array<{ name: string }>;
    expect(keys.filter((k) => k.name === 'demo')).toHaveLength(1);
    const keyFile = `${db}.demo-key`;
    expect(statSync(keyFile).mode & 0o077).toBe(0); // readable by its owner only
    expect(statSync(db).mode & 0o077).toBe(0); // so is the database it creates (call texts, key hashes)
    const key = readFileSync(keyFile, 'utf8').trim();

    const server = await spawnServer(env);
    try {
      for (const out of outs) {
        const job = await api(server.url, 'GET', `/api/policy-optimization/online/jobs/${out.job_id}`, { key });
        expect(job.status).toBe(200);
        expect(job.body).toMatchObject({ status: 'succeeded', rollout_count: out.rollouts, reward_count: out.rewards });
      }
    } finally {
      server.proc.kill('SIGTERM');
      await waitExit(server.proc);
    }
  }, 480_000);
});

describe('miprox demo, its closing hint', () => {
  it('names the dashboard address `miprox serve` will use with the same environment, not a fixed port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-demo-hint-'));
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    const res = await runCli(['demo', '--rollouts', '40'], { DATABASE_URL: join(dir, 'demo.db'), MIPROX_API_KEY: '', HOME: dir, PORT: String(port), HOST: '127.0.0.1' });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`run \`npx miprox serve\` (same database) and open http://127.0.0.1:${port}/ (job `);
    expect(res.stdout).toMatch(/\nSign in with the demo key: mpx_\S+\n/);
  }, 300_000);

  it('with MIPROX_API_KEY set, says to sign in with it and never prints it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-demo-envkey-'));
    const key = 'mpx_demo_env_key_for_sign_in_0123456789';
    const res = await runCli(['demo', '--rollouts', '40', '--port', '0'], { DATABASE_URL: join(dir, 'demo.db'), MIPROX_API_KEY: key, HOME: dir, HOST: '127.0.0.1' });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('\nSign in with your MIPROX_API_KEY\n');
    expect(res.stdout + res.stderr).not.toContain(key);
  }, 300_000);
});
