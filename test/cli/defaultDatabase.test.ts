import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer, waitExit } from '../helpers/childServer.js';
import { api } from '../helpers/server.js';

/**
 * Issue 16 item 3: `keys create` run from an app's folder wrote ./data/miprox.db there, and the
 * server (started elsewhere) refused the key. Without DATABASE_URL, the CLI and the server use one
 * fixed file (~/.miprox/miprox.db) wherever they are started, and both say which.
 */
// Spawns the CLI and servers through tsx: seconds each on a busy 2-core machine.
describe('the default database', { timeout: 300_000 }, () => {
  it('is the same file for keys and serve started from different directories', async () => {
    const home = mkdtempSync(join(tmpdir(), 'miprox-home-'));
    const cwd = () => mkdtempSync(join(tmpdir(), 'miprox-cwd-'));
    const [appDir, otherDir, serverDir] = [cwd(), cwd(), cwd()];
    // Empty means unset (loadConfig), whatever the test runner's own environment holds.
    const env = { HOME: home, DATABASE_URL: '', MIPROX_API_KEY: '' };
    const expected = `sqlite ${join(home, '.miprox', 'miprox.db')}`;

    const fromApp = await runCli(['keys', 'create', '--name', 'app', '--json'], env, appDir);
    expect(fromApp.code, fromApp.stderr).toBe(0);
    const created = JSON.parse(fromApp.stdout) as { key: string; database: string };
    expect(created.database).toBe(expected);

    const fromOther = await runCli(['keys', 'create', '--name', 'other'], env, otherDir);
    expect(fromOther.code, fromOther.stderr).toBe(0);
    expect(fromOther.stderr).toContain(`written to ${expected}`);
    const otherKey = fromOther.stdout.trim();

    const listed = await runCli(['keys', 'list'], env, serverDir);
    expect(listed.stderr).toContain(`database: ${expected}`);
    expect(listed.stdout).toMatch(/app[\s\S]*other/);

    for (const dir of [appDir, otherDir]) expect(existsSync(join(dir, 'data'))).toBe(false);

    const server = await spawnServer(env, undefined, serverDir);
    try {
      expect(server.output()).toContain(`(database: ${expected})`);
      for (const key of [created.key, otherKey]) {
        expect((await api(server.url, 'GET', '/api/policy-optimization/online/jobs', { key })).status).toBe(200);
      }
    } finally {
      server.proc.kill('SIGTERM');
      await waitExit(server.proc);
    }
  });
});
