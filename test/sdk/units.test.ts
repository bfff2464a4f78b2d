import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError, ConfigFileError, MiproJobsClient, ConflictError, ConnectionError, HttpClient, type Job, MiproOnlineSession, MiproxError, NotFoundError, RateLimitError,
  ServerError, TimeoutError, ValidationError, backoffDelayMs, collect, errorFromResponse, loadConfigFile,
  normalizeBaseUrl, paginate, parseRetryAfterMs, resolveClientOptions, retryDelayMs,
} from '../../src/sdk/index.js';
import { fakeJob } from './helpers.js';

describe('client options', () => {
  it('strips a trailing /api, /v1 or /api/v1 and slashes, as public clients do', () => {
    expect(normalizeBaseUrl('http://h:1/api')).toBe('http://h:1');
    expect(normalizeBaseUrl('http://h:1/api/v1/')).toBe('http://h:1');
    expect(normalizeBaseUrl('http://h:1/v1')).toBe('http://h:1');
    expect(normalizeBaseUrl('https://h/miprox/api')).toBe('https://h/miprox');
    expect(normalizeBaseUrl('http://h:1//')).toBe('http://h:1');
    expect(normalizeBaseUrl('http://apihost:1')).toBe('http://apihost:1');
  });

  it('never prints the API key or a credential header: console.log, util.inspect and JSON.stringify of a client or session', async () => {
    const key = 'mpx_0123456789abcdef0123456789abcdef0123456789abcdef';
    const jobs = new MiproJobsClient({ backendUrl: 'http://127.0.0.1:1', apiKey: key, headers: { 'X-Api-Key': 'hdr-secret', Authorization: 'Bearer hdr-secret', 'x-trace': 'visible' } });
    const session = MiproOnlineSession.fromJob(fakeJob() as unknown as Job, jobs.http);
    for (const printed of [inspect(jobs, { depth: 10 }), inspect(session, { depth: 10 }), JSON.stringify(jobs), JSON.stringify(session), inspect(jobs.http.options)]) {
      expect(printed).not.toContain(key);
      expect(printed).not.toContain('hdr-secret');
      expect(printed).toContain('[redacted]');
      expect(printed).toContain('visible');
    }
    // Still the key in use: read directly, copied, or sent.
    expect(jobs.http.options.apiKey).toBe(key);
    expect({ ...jobs.http.options }.apiKey).toBe(key);
    const seen: string[] = [];
    const client = new MiproJobsClient({ backendUrl: 'http://127.0.0.1:1', apiKey: key, maxRetries: 0, fetch: async (_url, init) => {
      seen.push(String((init.headers as Record<string, string>).authorization));
      return new Response(JSON.stringify({ items: [], next_cursor: null }), { status: 200 });
    } });
    await client.list();
    expect(seen).toEqual([`Bearer ${key}`]);
    // Without a key it says so rather than hiding one.
    expect(inspect(new HttpClient(resolveClientOptions({ backendUrl: 'http://127.0.0.1:1' }, {})))).toContain('apiKey: undefined');
  });

  it('takes MIPROX_BASE_URL and MIPROX_API_KEY only when no option is given', () => {
    const env = { MIPROX_BASE_URL: 'http://env:2/api', MIPROX_API_KEY: 'mpx_env' };
    expect(resolveClientOptions({}, env)).toMatchObject({ baseUrl: 'http://env:2', apiKey: 'mpx_env' });
    expect(resolveClientOptions({ backendUrl: 'http://opt:3', apiKey: 'mpx_opt' }, env)).toMatchObject({ baseUrl: 'http://opt:3', apiKey: 'mpx_opt' });
    expect(resolveClientOptions({}, {})).toMatchObject({ baseUrl: 'http://127.0.0.1:8700', apiKey: undefined });
  });
});

describe('errors', () => {
  const h = (init: Record<string, string> = {}) => new Headers(init);
  it('maps every status through one table and keeps code, details and request id', () => {
    const body = JSON.stringify({ error: { code: 'validation_error', message: 'invalid', details: [{ path: 'a.b', message: 'bad' }], request_id: 'req_1' } });
    const e = errorFromResponse(422, body, h());
    expect(e).toBeInstanceOf(ValidationError);
    expect(e).toMatchObject({ status: 422, code: 'validation_error', serverMessage: 'invalid', details: [{ path: 'a.b', message: 'bad' }], requestId: 'req_1' });
    const cases: Array<[number, abstract new (...a: never[]) => MiproxError]> = [
      [400, ValidationError], [401, AuthenticationError], [404, NotFoundError], [409, ConflictError],
      [429, RateLimitError], [500, ServerError], [503, ServerError],
    ];
    for (const [status, cls] of cases) expect(errorFromResponse(status, '', h())).toBeInstanceOf(cls);
    const other = errorFromResponse(418, 'teapot', h({ 'x-request-id': 'req_2' }));
    expect(other.constructor).toBe(MiproxError);
    expect(other).toMatchObject({ status: 418, requestId: 'req_2', message: 'HTTP 418: teapot' });
  });

  it('reads an HTML error page\'s words from its start only, whatever its size', () => {
    // The page comes from whatever answers at the URL. Its patterns rescanned the rest of the text for
    // each unclosed `<script`: 1.6 MB of them held the client for minutes (50,000 for about ten seconds).
    const page = `<html><h1>502 Bad Gateway</h1>${'<script '.repeat(50_000)}`;
    const started = Date.now();
    const e = errorFromResponse(502, page, h({ 'content-type': 'text/html' }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(e.message).toMatch(/^HTTP 502, an HTML page \(a balancer or proxy in front of miprox, or no miprox at this URL\): 502 Bad Gateway/);
  });

  /**
   * A 422's message was only the server's summary (`invalid job configuration`), so an app printing
   * `err.message` (as examples/rollout-loop.ts does) never saw which field was wrong.
   */
  it('puts the details in the message, so printing err.message says what to fix', () => {
    const details = [
      { path: 'config_body.policy_optimization.mipro.max_rollout', message: 'unknown field; did you mean max_rollouts?' },
      ...Array.from({ length: 6 }, (_, i) => ({ path: `p${i}`, message: `bad ${i}` })),
    ];
    const e = errorFromResponse(422, JSON.stringify({ error: { code: 'validation_error', message: 'invalid job configuration', details } }), h());
    expect(e.message).toBe('invalid job configuration: config_body.policy_optimization.mipro.max_rollout: unknown field; did you mean max_rollouts?; '
      + 'p0: bad 0; p1: bad 1; p2: bad 2; p3: bad 3 (and 2 more in details)');
    expect(e.serverMessage).toBe('invalid job configuration');
    expect(e.details).toHaveLength(7);
    const body = errorFromResponse(400, JSON.stringify({ error: { code: 'bad_request', message: 'malformed', details: [{ path: '', message: 'not JSON' }] } }), h());
    expect(body.message).toBe('malformed: body: not JSON');
    expect(new MiproxError('plain').message).toBe('plain');
  });

  it('reads the proxy\'s OpenAI-shaped error body too', () => {
    const e = errorFromResponse(404, JSON.stringify({ error: { message: 'unknown system', type: 'not_found_error', param: null, code: 'not_found' } }), h());
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e).toMatchObject({ message: 'unknown system', code: 'not_found' });
  });
});

describe('retry policy', () => {
  const policy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000 };
  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelayMs(0, policy, () => 1)).toBe(100);
    expect(backoffDelayMs(2, policy, () => 1)).toBe(400);
    expect(backoffDelayMs(10, policy, () => 1)).toBe(1000);
    expect(backoffDelayMs(2, policy, () => 0)).toBe(0);
  });

  it('parses retry-after as seconds, an HTTP date or retry-after-ms', () => {
    expect(parseRetryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfterMs(new Headers({ 'retry-after-ms': '150' }))).toBe(150);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), now)).toBe(3000);
    expect(parseRetryAfterMs(new Headers({}))).toBeUndefined();
    expect(parseRetryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });

  it('retries idempotent requests on 429/5xx/timeouts, and any request whose connection was refused', () => {
    const one = () => 1;
    const s503 = new ServerError('x', { status: 503 });
    expect(retryDelayMs(s503, 0, true, policy, one)).toBe(100);
    expect(retryDelayMs(s503, 0, false, policy, one)).toBeNull();
    expect(retryDelayMs(s503, 3, true, policy, one)).toBeNull();
    expect(retryDelayMs(new RateLimitError('x', { status: 429, retryAfterMs: 700 }), 0, true, policy, one)).toBe(700);
    expect(retryDelayMs(new RateLimitError('x', { status: 429, retryAfterMs: 120_000 }), 0, true, policy, one)).toBeNull();
    expect(retryDelayMs(new TimeoutError('x'), 1, true, policy, one)).toBe(200);
    expect(retryDelayMs(new TimeoutError('x'), 1, false, policy, one)).toBeNull();
    const refused = new ConnectionError('x', { url: 'u', requestSent: false });
    const reset = new ConnectionError('x', { url: 'u', requestSent: true });
    expect(retryDelayMs(refused, 0, false, policy, one)).toBe(100);
    expect(retryDelayMs(reset, 0, false, policy, one)).toBeNull();
    expect(retryDelayMs(new NotFoundError('x', { status: 404 }), 0, true, policy, one)).toBeNull();
    expect(retryDelayMs(new Error('plain'), 0, true, policy, one)).toBeNull();
  });

  it('retries any request a closing server refused unprocessed (503 server_closing), not other 503s', () => {
    const one = () => 1;
    const closing = new ServerError('x', { status: 503, code: 'server_closing', retryAfterMs: 0 });
    expect(retryDelayMs(closing, 0, false, policy, one)).toBe(0); // a rollout or a job creation too
    expect(retryDelayMs(new ServerError('x', { status: 503, code: 'server_closing' }), 1, false, policy, one)).toBe(200);
    expect(retryDelayMs(closing, 3, false, policy, one)).toBeNull(); // the retry budget still holds
    expect(retryDelayMs(new ServerError('x', { status: 503, code: 'shutting_down' }), 0, false, policy, one)).toBeNull();
  });
});

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'miprox-sdk-'));
  it('reads TOML and JSON job configs', async () => {
    const toml = join(dir, 'job.toml');
    writeFileSync(toml, '[prompt_learning]\nalgorithm = "mipro"\n[prompt_learning.policy]\nmodel = "sim-policy"\ntemperature = 0.0\n[prompt_learning.mipro]\nval_seeds = [100, 101]\n');
    expect(await loadConfigFile(toml)).toEqual({ prompt_learning: { algorithm: 'mipro', policy: { model: 'sim-policy', temperature: 0 }, mipro: { val_seeds: [100, 101] } } });
    const json = join(dir, 'job.json');
    writeFileSync(json, JSON.stringify({ policy_optimization: { algorithm: 'mipro' } }));
    expect(await loadConfigFile(json)).toEqual({ policy_optimization: { algorithm: 'mipro' } });
  });

  it('reads a TOML file saved with Windows line endings with its line breaks as \\n', async () => {
    const toml = join(dir, 'crlf.toml');
    const lines = [
      '[[policy_optimization.modules]]', 'name = "answer"', 'template = """', 'Answer in a {style} style.', 'Use only:', '{passages}"""',
      '[[policy_optimization.modules]]', 'name = "raw"', "template = '''", 'One', "two'''", 'escaped = "a\\r\\nb"',
    ];
    writeFileSync(toml, `${lines.join('\r\n')}\r\n`);
    const config = (await loadConfigFile(toml)) as { policy_optimization: { modules: { template: string; escaped?: string }[] } };
    const [answer, raw] = config.policy_optimization.modules;
    expect([answer?.template, raw?.template]).toEqual(['Answer in a {style} style.\nUse only:\n{passages}', 'One\ntwo']);
    expect(raw?.escaped).toBe('a\r\nb'); // an escape the file writes stays what it says
  });

  it('refuses TOML nan and inf, naming the key, instead of sending them as null', async () => {
    // `temperature = inf` became "temperature": null, which the server takes as "the provider's default".
    const toml = join(dir, 'inf.toml');
    writeFileSync(toml, '[policy_optimization.policy]\nmodel = "sim-policy"\ntemperature = inf\n');
    const err = await loadConfigFile(toml).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as ConfigFileError).details).toEqual([{ path: 'policy_optimization.policy.temperature', message: expect.stringMatching(/^is Infinity/) }]);
    expect((err as Error).message).toBe(`cannot use config file ${toml}: policy_optimization.policy.temperature: is Infinity, which JSON does not have: send a finite number`);
    writeFileSync(toml, '[policy_optimization.mipro]\nval_seeds = [1, nan]\n');
    await expect(loadConfigFile(toml)).rejects.toThrow(/policy_optimization\.mipro\.val_seeds\.1: is NaN/);
  });

  it('names the file and the problem when it cannot be used', async () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[prompt_learning\n');
    await expect(loadConfigFile(bad)).rejects.toThrow(ConfigFileError);
    await expect(loadConfigFile(bad)).rejects.toThrow(/bad\.toml.*TOML/);
    await expect(loadConfigFile(join(dir, 'missing.json'))).rejects.toThrow(/cannot read config file .*missing\.json/);
    // Where: a 70 KB file of 16 long templates said only "invalid value", with no line to look at.
    const syntax = join(dir, 'syntax.toml');
    writeFileSync(syntax, '[policy_optimization]\nalgorithm = "mipro"\n\n[policy_optimization.mipro]\nmax_demos = = 4\n');
    await expect(loadConfigFile(syntax)).rejects.toThrow(/syntax\.toml \(TOML: line 5, column 13: Invalid TOML document: invalid value\)/);
    const brokenJson = join(dir, 'broken.json');
    writeFileSync(brokenJson, '{\n  "policy_optimization": {\n    "algorithm": "mipro",,\n  }\n}\n');
    await expect(loadConfigFile(brokenJson)).rejects.toThrow(/broken\.json \(JSON: line 3, column 26: /);
    const list = join(dir, 'list.json');
    writeFileSync(list, '[1,2]');
    await expect(loadConfigFile(list)).rejects.toThrow(/top level must be a table/);
  });
});

describe('pagination', () => {
  it('follows cursors to the end and stops on a repeated cursor', async () => {
    const pages: Record<string, { items: number[]; next_cursor: string | null }> = {
      start: { items: [1, 2], next_cursor: 'a' },
      a: { items: [3], next_cursor: 'b' },
      b: { items: [4], next_cursor: null },
    };
    const calls: Array<string | undefined> = [];
    const all = await collect(paginate(async (c) => {
      calls.push(c);
      return pages[c ?? 'start']!;
    }));
    expect(all).toEqual([1, 2, 3, 4]);
    expect(calls).toEqual([undefined, 'a', 'b']);
    const looping = await collect(paginate(async () => ({ items: [1], next_cursor: 'same' })));
    expect(looping).toEqual([1, 1]);
    expect(await collect(paginate(async (c) => pages[c ?? 'start']!), 3)).toEqual([1, 2, 3]);
  });
});

/**
 * `rolloutBaseUrl('')` gave `{proxy}/`, the proxy URL itself to the clients.
 * `rolloutBaseUrl('.')` gave `{proxy}/.`, which every URL parser resolves to `{proxy}`: the calls were
 * served under a rollout id the server made, and the reward for "." was a 404; `..` left the job's URL.
 */
describe('rollout base URLs', () => {
  const session = MiproOnlineSession.fromJob({ session_id: 'sys_1', job_id: 'pl_1', proxy_url: 'http://h:1/api/mipro/v1/sys_1' } as unknown as Job,
    new HttpClient(resolveClientOptions({ backendUrl: 'http://h:1' }, {})));

  it('refuses ids a URL cannot carry as a path segment', () => {
    for (const id of ['.', '..', 'v1', '']) expect(() => session.rolloutBaseUrl(id)).toThrow(TypeError);
    expect(() => session.rolloutBaseUrl('.')).toThrow(/"\." is a relative path segment/);
    // `{proxy}/` is the URL without a rollout (the clients drop the trailing slash): every call of the
    // "rollout" got a rollout id of its own, so its calls could go to different candidates.
    expect(() => session.rolloutBaseUrl('')).toThrow(/rolloutId is empty/);
    expect(session.rolloutBaseUrl('...')).toBe('http://h:1/api/mipro/v1/sys_1/...');
    expect(new URL(`${session.rolloutBaseUrl('r.1')}/chat/completions`).pathname).toBe('/api/mipro/v1/sys_1/r.1/chat/completions');
  });
});
