import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/childServer.js';

/**
 * `demo --rollouts 0 --json` answered `code: "error"` (README: usage errors are `usage_error`), and
 * only after a server had started on the database and a demo key had been made for it.
 */
describe('miprox demo: bad flags are usage errors, before anything starts', () => {
  it.each([
    [['--rollouts', '0'], /^option '--rollouts <n>' argument '0' is invalid/],
    [['--concurrency', 'many'], /^option '--concurrency <n>' argument 'many' is invalid/],
    [['--provider', 'bogus'], /^option '--provider <provider>' argument 'bogus' is invalid/],
    [['--provider', 'openai'], /^--model is required with --provider openai/],
    [['--provider', 'openai_compatible', '--model', 'm'], /^--inference-url is required/],
    [['--port', 'abc'], /^option '-p, --port <port>' argument 'abc' is invalid\. must be a port number/],
  ])('demo %j', async (args, message) => {
    const db = join(mkdtempSync(join(tmpdir(), 'miprox-demo-flags-')), 'demo.db');
    const res = await runCli(['demo', ...args, '--json', '--port', '0'], { DATABASE_URL: db, MIPROX_API_KEY: '' });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(JSON.parse(res.stderr)).toEqual({ error: { code: 'usage_error', message: expect.stringMatching(message) } });
    expect(existsSync(db)).toBe(false);
    expect(existsSync(`${db}.demo-key`)).toBe(false);
  });
});

/**
 * The demo's server runs with the operator's environment and database (and serves on with
 * --keep-serving), so it keeps MIPROX_PROVIDERS: a demo on a provider left out says so, before a
 * server starts or a demo key is made, rather than failing on its own job's 422.
 */
describe('miprox demo under MIPROX_PROVIDERS', () => {
  it('says the simulator is not allowed, and how to run the demo anyway', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'miprox-demo-providers-')), 'demo.db');
    const res = await runCli(['demo', '--json', '--port', '0'], { DATABASE_URL: db, MIPROX_API_KEY: '', MIPROX_PROVIDERS: 'openai,anthropic' });
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    const message = 'provider "sim" is not allowed by MIPROX_PROVIDERS (openai, anthropic): run the demo with it unset (MIPROX_PROVIDERS= miprox demo) or with an allowed --provider';
    expect(JSON.parse(res.stderr)).toEqual({ error: { code: 'config_error', message, details: [{ path: 'MIPROX_PROVIDERS', message }] } });
    expect(existsSync(db)).toBe(false);
    expect(existsSync(`${db}.demo-key`)).toBe(false);
  });
});
