import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { portNumber, positiveInt, serverUrl } from '../../src/cli/clientOptions.js';
import { DEFAULT_BASE_URL, MiproJobsClient, normalizeBaseUrl, resolveClientOptions } from '../../src/sdk/index.js';
import { runCli } from '../helpers/childServer.js';
import type { TestServer } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';
import { simJobBody } from '../sdk/helpers.js';

const SLOW = 120_000;

/** Issue 16 item 7: `--url 127.0.0.1:8700` gave "Invalid URL"; errors under --json were plain text. */
describe('client commands: --url and --json errors', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('takes a server address without a scheme, as people type it', async () => {
    expect(normalizeBaseUrl('127.0.0.1:8700')).toBe('http://127.0.0.1:8700');
    expect(normalizeBaseUrl('localhost:8700/api')).toBe('http://localhost:8700');
    const bare = t.url.replace(/^http:\/\//, '');
    const res = await runCli(['jobs', 'list', '--json', '--url', bare], { MIPROX_API_KEY: t.key });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual([]);
    const wrong = await runCli(['jobs', 'list', '--url', 'ftp://x'], { MIPROX_API_KEY: t.key });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/"ftp:\/\/x" is not a server URL/);
  }, SLOW);

  it('reports errors as JSON under --json, with status and code', async () => {
    const missing = await runCli(['jobs', 'show', 'pl_00000000000000000000000000000000', '--json'], { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'not_found', status: 404, message: expect.stringMatching(/^not found \(404\)/) } });
    const refused = await runCli(['jobs', 'list', '--json'], { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: 'mpx_wrong' });
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { status: 401 } });
  }, SLOW);

  it('reports usage errors as JSON under --json (and as prose with the help otherwise)', async () => {
    const env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key };
    const choice = await runCli(['jobs', 'export', 'pl_x', '--format', 'yaml', '--json'], env);
    expect(choice.code).toBe(1);
    expect(JSON.parse(choice.stderr)).toEqual({ error: { code: 'usage_error', message: expect.stringMatching(/^option '--format <format>' argument 'yaml' is invalid/) } });
    const unknown = await runCli(['candidates', 'pl_x', '--json', '--bogus'], env);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ error: { code: 'usage_error', message: "unknown option '--bogus'" } });
    const prose = await runCli(['candidates', 'pl_x', '--bogus'], env);
    expect(prose.code).toBe(1);
    expect(prose.stderr).toMatch(/^error: unknown option '--bogus'\n[\s\S]*Usage: miprox candidates/);
  }, SLOW);

  it('refuses an empty --api-key instead of running with MIPROX_API_KEY', async () => {
    // `--api-key "$KEY"` with KEY unset: the command ran as MIPROX_API_KEY's tenant, a delete included.
    const tenant = await t.newTenantKey();
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: tenant.key });
    const jobId = (await jobs.create(simJobBody())).job_id;
    await jobs.cancel(jobId);
    const env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: tenant.key };
    const empty = await runCli(['jobs', 'delete', jobId, '--yes', '--api-key', ''], env);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/--api-key is empty: pass the key, or leave the option out to use MIPROX_API_KEY/);
    expect((await jobs.get(jobId)).status).toBe('cancelled');
    const json = await runCli(['jobs', 'list', '--json', '--api-key', ''], env);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'usage_error', message: expect.stringMatching(/^--api-key is empty/) } });
    // An empty MIPROX_API_KEY alone is no key, as before: the server's 401, said as such.
    const noKey = await runCli(['jobs', 'list'], { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: '' });
    expect(noKey.stderr).toMatch(/no API key given \(401\)/);
  }, SLOW);

  it('says which output file it cannot write, without a raw system error', async () => {
    const tenant = await t.newTenantKey();
    const env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: tenant.key };
    const jobId = (await new MiproJobsClient({ backendUrl: t.url, apiKey: tenant.key }).create(simJobBody())).job_id;
    const target = '/nonexistent-miprox-dir/x.json';
    const human = await runCli(['jobs', 'export', jobId, '-o', target], env);
    expect(human.code).toBe(1);
    expect(human.stderr).toBe(`miprox: cannot write ${target}: its folder does not exist\n`);
    const json = await runCli(['jobs', 'export', jobId, '-o', target, '--json'], env);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'output_not_writable', message: `cannot write ${target}: its folder does not exist` } });
    // Written under --json: one JSON value on standard output, nothing in prose on standard error.
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-export-')), 'x.json');
    const ok = await runCli(['jobs', 'export', jobId, '-o', file, '--json'], env);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(JSON.parse(ok.stdout)).toEqual({ written: file, candidate_id: 'baseline', format: 'json' });
  }, SLOW);

  it('writes an export readable by its owner only (it holds demos: users\' call text), also over an existing file', async () => {
    const tenant = await t.newTenantKey();
    const env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: tenant.key };
    const jobId = (await new MiproJobsClient({ backendUrl: t.url, apiKey: tenant.key }).create(simJobBody())).job_id;
    const dir = mkdtempSync(join(tmpdir(), 'miprox-export-'));
    const fresh = join(dir, 'new.json');
    expect((await runCli(['jobs', 'export', jobId, '-o', fresh], env)).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
    // A file already there, world-readable and longer than the export: made private, and replaced whole.
    const kept = join(dir, 'kept.json');
    writeFileSync(kept, `${'x'.repeat(100_000)}\n`);
    chmodSync(kept, 0o644);
    expect((await runCli(['jobs', 'export', jobId, '-o', kept], env)).code).toBe(0);
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(kept, 'utf8'))).toMatchObject({ job_id: jobId, candidate_id: 'baseline' });
  }, SLOW);
});

/** An empty MIPROX_BASE_URL was a usage error for every client command, while the SDK reads it as unset. */
describe('client commands: an empty MIPROX_BASE_URL', () => {
  it('is the default server URL, as in the SDK', async () => {
    expect(serverUrl('')).toBe(DEFAULT_BASE_URL);
    expect(serverUrl('  ')).toBe(DEFAULT_BASE_URL);
    expect(resolveClientOptions({}, { MIPROX_BASE_URL: '' }).baseUrl).toBe(DEFAULT_BASE_URL);
    // Whatever listens on the default port (nothing, or a server refusing this key), not a usage error.
    const res = await runCli(['jobs', 'list', '--json'], { MIPROX_BASE_URL: '', MIPROX_API_KEY: 'mpx_not_a_key_0000000000' });
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stderr).error.code).not.toBe('usage_error');
  }, SLOW);
});

/** `--limit 1e3` listed 1000 jobs and `--interval 0x10` polled every 16 ms: Number() read them. */
describe('client commands: integer flags', () => {
  it('take decimal digits only, and a usage error names the flag otherwise', async () => {
    expect([positiveInt('50'), positiveInt('2147483647'), portNumber('0'), portNumber('65535')]).toEqual([50, 2147483647, '0', '65535']);
    for (const bad of ['1e3', '0x10', '1.0', ' 5', '+5', '', '0', '2147483648']) expect(() => positiveInt(bad), bad).toThrow(/in decimal digits/);
    for (const bad of ['0x10', '1e3', '65536']) expect(() => portNumber(bad), bad).toThrow(/in decimal digits/);
    const env = { MIPROX_BASE_URL: 'http://127.0.0.1:9', MIPROX_API_KEY: 'mpx_not_a_key_0000000000' };
    const limit = await runCli(['jobs', 'list', '--limit', '1e3', '--json'], env);
    expect([limit.code, JSON.parse(limit.stderr)]).toEqual([1, { error: {
      code: 'usage_error', message: "option '--limit <n>' argument '1e3' is invalid. must be a whole number from 1 to 2147483647 in decimal digits",
    } }]);
    const interval = await runCli(['jobs', 'watch', 'pl_x', '--interval', '0x10'], env);
    expect(interval.code).toBe(1);
    expect(interval.stderr).toMatch(/^error: option '--interval <ms>' argument '0x10' is invalid\. must be a whole number from 1 to 2147483647 in decimal digits\n/);
  }, SLOW);
});
