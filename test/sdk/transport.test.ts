import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthenticationError, ConnectionError, JobSchema, JobWaitTimeoutError, MiproJobsClient, MiproxError, MiproOnlineSession, NotFoundError, ResponseFormatError,
  ServerError, TimeoutError, ValidationError,
} from '../../src/sdk/index.js';
import type { TestServer } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';
import { type ScriptedServer, closedPortUrl, fakeJob, simJobBody, startScriptedServer } from './helpers.js';

const fast = { retryBaseDelayMs: 5, retryMaxDelayMs: 20 };

function abortAfter(ms: number, reason: Error): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), ms);
  return controller.signal;
}

describe('SDK errors against a real server', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('a wrong key is an AuthenticationError with the server request id', async () => {
    const client = new MiproJobsClient({ backendUrl: t.url, apiKey: 'mpx_wrong', ...fast });
    const err = await client.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toMatchObject({ status: 401, code: 'unauthorized' });
    expect((err as AuthenticationError).requestId).toMatch(/^req_/);
  });

  it('no key at all is an AuthenticationError saying where the SDK takes its key from', async () => {
    // The quickstart's second terminal without `export MIPROX_API_KEY=...`: the server's own words
    // ("send Authorization: Bearer <key>") are not something an SDK user does.
    const saved = process.env.MIPROX_API_KEY;
    delete process.env.MIPROX_API_KEY;
    try {
      const err = await MiproOnlineSession.create({ backendUrl: t.url, config: simJobBody(), ...fast }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err).toMatchObject({ status: 401, code: 'unauthorized' });
      expect((err as Error).message).toMatch(/^no API key: pass apiKey to the client or set MIPROX_API_KEY \(the server said: missing API key/);
      // A key that is sent and refused keeps the server's message.
      const wrong = await new MiproJobsClient({ backendUrl: t.url, apiKey: 'mpx_wrong', ...fast }).list().catch((e: unknown) => e);
      expect((wrong as Error).message).toBe('invalid or revoked API key');
    } finally {
      if (saved !== undefined) process.env.MIPROX_API_KEY = saved;
    }
  });

  it('a backendUrl with a path the server does not serve says so: the dashboard\'s HTML page is not taken for an answer', async () => {
    const client = new MiproJobsClient({ backendUrl: `${t.url}/miprox`, apiKey: t.key, ...fast });
    const err = await client.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseFormatError);
    expect((err as Error).message).toContain(`GET ${t.url}/miprox/api/policy-optimization/online/jobs answered 200 with a body that is not JSON (an HTML page: is backendUrl the miprox server's origin`);
  });

  it('an unknown job is a NotFoundError', async () => {
    const client = new MiproJobsClient({ backendUrl: `${t.url}/api`, apiKey: t.key, ...fast });
    await expect(client.get('pl_00000000000000000000000000000000')).rejects.toThrow(NotFoundError);
  });

  it('an invalid config is a ValidationError listing every bad field', async () => {
    const client = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key, ...fast });
    const body = simJobBody({ online_rollouts_per_candidate: 0, mode: 'offline' });
    const err = await client.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.status).toBe(422);
    const paths = v.details.map((d) => d.path);
    expect(paths).toContain('policy_optimization.mipro.online_rollouts_per_candidate');
    expect(paths).toContain('policy_optimization.mipro.mode');
  });

  it('a closed port is a ConnectionError (retried, since the server never saw the request)', async () => {
    const url = await closedPortUrl();
    const client = new MiproJobsClient({ backendUrl: url, apiKey: 'k', ...fast, maxRetries: 2 });
    const err = await client.create(simJobBody()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).requestSent).toBe(false);
    expect((err as Error).message).toContain(url);
    expect((err as Error).message).toContain('ECONNREFUSED');
  });
});

describe('SDK transport against a scripted server', () => {
  let s: ScriptedServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('retries a GET on 503 with backoff and then succeeds', async () => {
    s = await startScriptedServer([
      { status: 503, body: { error: { code: 'unavailable', message: 'busy' } } },
      { status: 503, body: { error: { code: 'unavailable', message: 'busy' } } },
      { status: 200, body: fakeJob() },
    ]);
    const client = new MiproJobsClient({ backendUrl: s.url, apiKey: 'mpx_k', ...fast, maxRetries: 2 });
    const job = await client.get('pl_0123');
    expect(job.job_id).toBe('pl_0123');
    expect(s.requests).toHaveLength(3);
    expect(s.requests.map((r) => r.url)).toEqual(Array(3).fill('/api/policy-optimization/online/jobs/pl_0123'));
    expect(s.requests[0]?.headers.authorization).toBe('Bearer mpx_k');
  });

  it('the no-key hint quotes the server\'s message once: its details are appended once, not twice', async () => {
    s = await startScriptedServer([{ status: 401, body: { error: { code: 'unauthorized', message: 'missing API key', details: [{ path: 'authorization', message: 'is required' }] } } }]);
    const saved = process.env.MIPROX_API_KEY;
    delete process.env.MIPROX_API_KEY;
    try {
      const err = await new MiproJobsClient({ backendUrl: s.url, ...fast }).get('pl_0123').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as AuthenticationError).message)
        .toBe('no API key: pass apiKey to the client or set MIPROX_API_KEY (the server said: missing API key): authorization: is required');
    } finally {
      if (saved !== undefined) process.env.MIPROX_API_KEY = saved;
    }
  });

  it('gives up after maxRetries with the last ServerError', async () => {
    s = await startScriptedServer([{ status: 503, body: { error: { code: 'unavailable', message: 'busy' } } }]);
    const client = new MiproJobsClient({ backendUrl: s.url, ...fast, maxRetries: 2 });
    await expect(client.get('pl_0123')).rejects.toThrow(ServerError);
    expect(s.requests).toHaveLength(3);
  });

  it('never repeats a job creation the server may have seen', async () => {
    s = await startScriptedServer([{ status: 503 }, { status: 200, body: fakeJob() }]);
    const client = new MiproJobsClient({ backendUrl: s.url, ...fast, maxRetries: 3 });
    await expect(client.create(simJobBody())).rejects.toThrow(ServerError);
    expect(s.requests).toHaveLength(1);
  });

  it('retries a reward with a rollout id (the server deduplicates it), not one without', async () => {
    const ok = { status: 'ok', rollout_id: 'r1', candidate_id: 'baseline', reward: 1, duplicate: false };
    s = await startScriptedServer([{ status: 502 }, { status: 200, body: ok }, { status: 502 }]);
    const session = MiproOnlineSession.fromJob(JobSchema.parse(fakeJob()), new MiproJobsClient({ backendUrl: s.url, ...fast }).http);
    expect(await session.updateReward({ rewardInfo: { score: 1 }, rolloutId: 'r1' })).toEqual(ok);
    expect(s.requests).toHaveLength(2);
    expect(JSON.parse(s.requests[1]!.body)).toEqual({ reward_info: { score: 1 }, rollout_id: 'r1' });
    await expect(session.updateReward({ rewardInfo: { score: 1 }, correlationId: 'c' })).rejects.toThrow(ServerError);
    expect(s.requests).toHaveLength(3);
  });

  it('a body JSON cannot carry (NaN, Infinity, a BigInt, a circular object) is a ValidationError naming the field; nothing is sent', async () => {
    s = await startScriptedServer([{ status: 200, body: { status: 'ok', rollout_id: 'r1', candidate_id: 'baseline', reward: 1, duplicate: false } }]);
    const session = MiproOnlineSession.fromJob(JobSchema.parse(fakeJob()), new MiproJobsClient({ backendUrl: s.url, ...fast, maxRetries: 2 }).http);
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const cases: Array<[Parameters<typeof session.updateReward>[0], string, RegExp]> = [
      // 0/0: JSON.stringify wrote null, and the server answered "reward_info.score: is required".
      [{ rolloutId: 'r1', rewardInfo: { score: 0 / 0 } }, 'reward_info.score', /is NaN/],
      [{ rolloutId: 'r1', rewardInfo: { score: 1 }, metadata: { latency: [1, Number.POSITIVE_INFINITY] } }, 'metadata.latency.1', /is Infinity/],
      // These threw inside the request and were a ConnectionError ("cannot reach"), retried.
      [{ rolloutId: 'r1', rewardInfo: { score: 1 }, metadata: { tokens: 10n } }, 'metadata.tokens', /BigInt/],
      [{ rolloutId: 'r1', rewardInfo: { score: 1 }, metadata: circular }, 'metadata.self', /circular/],
    ];
    for (const [input, path, message] of cases) {
      const err = await session.updateReward(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe('invalid_request_body');
      expect((err as ValidationError).details).toEqual([{ path, message: expect.stringMatching(message) }]);
      expect((err as Error).message).toContain(`${path}: `);
    }
    expect(s.requests).toHaveLength(0);
    // A Date still goes as its ISO text, as JSON.stringify sends it.
    await session.updateReward({ rolloutId: 'r1', rewardInfo: { score: 1 }, metadata: { at: new Date(0) } });
    expect(JSON.parse(s.requests[0]!.body).metadata).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });

  it('waitForCompletion gives up at its timeoutMs even while a look is still waiting for the server', async () => {
    s = await startScriptedServer([{ status: 200, body: fakeJob(), delayMs: 3_000 }, { status: 200, body: fakeJob(), delayMs: 50 }, { status: 200, body: fakeJob(), delayMs: 3_000 }]);
    // The request timeout and its retries (here up to 3 x 2 s) used to stretch a 400 ms wait to seconds, ending in a plain TimeoutError.
    const client = new MiproJobsClient({ backendUrl: s.url, ...fast, timeoutMs: 2_000, maxRetries: 2 });
    let started = Date.now();
    let err = await client.waitForCompletion('pl_0123', { timeoutMs: 400, pollMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobWaitTimeoutError);
    expect(err).toMatchObject({ jobId: 'pl_0123', lastStatus: undefined });
    expect(Date.now() - started).toBeLessThan(1_000);
    // After one look the error names the status it saw.
    started = Date.now();
    err = await client.waitForCompletion('pl_0123', { timeoutMs: 1_500, pollMs: 10 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ jobId: 'pl_0123', lastStatus: 'running', message: 'job pl_0123 is still running after 1500 ms' });
    expect(Date.now() - started).toBeLessThan(2_500);
    // The caller's own abort still ends it with the caller's reason (also with no limit at all, as the CLI waits).
    const reason = new Error('shutting down');
    err = await client.waitForCompletion('pl_0123', { timeoutMs: Number.POSITIVE_INFINITY, signal: abortAfter(100, reason) }).catch((e: unknown) => e);
    expect(err).toBe(reason);
  });

  it('timeoutMs: Infinity means no limit and a fraction is taken; a caller\'s signal is let go after each request', async () => {
    s = await startScriptedServer([{ status: 200, body: fakeJob(), delayMs: 50 }]);
    // AbortSignal.timeout threw a RangeError (not a MiproxError) for both on every call.
    for (const timeoutMs of [Number.POSITIVE_INFINITY, 1_000.5]) {
      expect((await new MiproJobsClient({ backendUrl: s.url, ...fast, timeoutMs }).get('pl_0123')).job_id).toBe('pl_0123');
    }
    // One long-lived signal (an app's shutdown signal) passed to every call keeps nothing of them.
    const app = new AbortController();
    const added: string[] = [];
    const removed: string[] = [];
    const add = app.signal.addEventListener.bind(app.signal);
    const remove = app.signal.removeEventListener.bind(app.signal);
    app.signal.addEventListener = (type: string, ...rest: [never, never]) => { added.push(type); add(type, ...rest); };
    app.signal.removeEventListener = (type: string, ...rest: [never, never]) => { removed.push(type); remove(type, ...rest); };
    const client = new MiproJobsClient({ backendUrl: s.url, ...fast });
    for (let i = 0; i < 3; i++) await client.get('pl_0123', { signal: app.signal });
    expect(added.length).toBe(removed.length);
  });

  it('a key or header that HTTP cannot carry is refused before sending, naming where, never quoting the value', async () => {
    s = await startScriptedServer([{ status: 200, body: fakeJob() }]);
    const secret = 'mpx_0123456789abcdef_secret';
    // A key pasted with a stray control character: fetch threw, the SDK said ConnectionError "cannot
    // reach" (requestSent: true) and undici's message quoted the key.
    // BEL, ESC and DEL too: fetch refuses every control character but tab, and those were still
    // sent to fetch, failing as that ConnectionError.
    for (const apiKey of [`mpx_01\r23_secret`, `mpx_01\u000023_secret`, `mpx_01\u201923_secret`, `mpx_01\u000723_secret`, `mpx_01\u001b23_secret`, `mpx_01\u007f23_secret`]) {
      const err = await new MiproJobsClient({ backendUrl: s.url, ...fast, apiKey }).get('pl_0123').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err).toMatchObject({ code: 'invalid_api_key', status: undefined });
      expect((err as Error).message).toMatch(/^the API key cannot be sent in an HTTP header: its character at index 6 is /);
      expect(`${String(err)} ${JSON.stringify(err)} ${String((err as Error).cause)}`).not.toContain('secret');
    }
    const err = await new MiproJobsClient({ backendUrl: s.url, ...fast, apiKey: secret, headers: { 'x-tenant-token': 'tok\n_secret' } }).get('pl_0123').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_header', message: 'the value of header x-tenant-token cannot be sent: its character at index 3 is a control character (U+000A) (nothing was sent)' });
    const esc = await new MiproJobsClient({ backendUrl: s.url, ...fast, apiKey: secret, headers: { 'x-tenant-token': 'tok\u001b_secret' } }).get('pl_0123').catch((e: unknown) => e);
    expect(esc).toMatchObject({ code: 'invalid_header', message: 'the value of header x-tenant-token cannot be sent: its character at index 3 is a control character (U+001B) (nothing was sent)' });
    // A tab is a legal header character: sent as is.
    await expect(new MiproJobsClient({ backendUrl: s.url, ...fast, apiKey: secret, headers: { 'x-note': 'a\tb' } }).get('pl_0123')).resolves.toMatchObject({ job_id: expect.any(String) });
    expect(s.requests).toHaveLength(1);
  });

  it('a server URL fetch cannot use is a MiproxError naming the option, before sending, without its password', async () => {
    let fetched = 0;
    const fetch = async () => {
      fetched++;
      return new Response('{}', { status: 200 });
    };
    const cases: Array<[string, RegExp]> = [
      // A bare TypeError "Invalid URL" that named no option.
      ['localhost 8700', /^the server URL "http:\/\/localhost 8700" \(backendUrl, else MIPROX_BASE_URL\) is not a URL/],
      ['http://127.0.0.1:99999', /is not a URL/],
      ['ftp://127.0.0.1:21', /has the scheme ftp: use http or https/],
      // A ConnectionError "cannot reach" (requestSent: true) that quoted the password.
      ['https://admin:pw_secret@127.0.0.1:1', /^the server URL "https:\/\/\*\*\*@127.0.0.1:1" \(backendUrl, else MIPROX_BASE_URL\) holds a user name or password/],
    ];
    for (const [backendUrl, message] of cases) {
      const err = await new MiproJobsClient({ backendUrl, apiKey: 'k', ...fast, fetch }).list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MiproxError);
      expect(err).toMatchObject({ code: 'invalid_options', status: undefined });
      expect((err as Error).message).toMatch(message);
      expect(`${String(err)} ${JSON.stringify(err)}`).not.toContain('pw_secret');
    }
    expect(fetched).toBe(0);
  });

  it('waits as long as retry-after says on 429', async () => {
    s = await startScriptedServer([
      { status: 429, headers: { 'retry-after': '0.3' }, body: { error: { code: 'rate_limited', message: 'slow down' } } },
      { status: 200, body: fakeJob() },
    ]);
    const client = new MiproJobsClient({ backendUrl: s.url, ...fast });
    const started = Date.now();
    await client.get('pl_0123');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(s.requests).toHaveLength(2);
  });

  it('times a request out with a TimeoutError', async () => {
    s = await startScriptedServer([{ status: 200, body: fakeJob(), delayMs: 2_000 }]);
    const client = new MiproJobsClient({ backendUrl: s.url, timeoutMs: 100, maxRetries: 0 });
    const err = await client.get('pl_0123').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/timed out after 100 ms/);
  });

  it('stops at once, with the caller\'s reason, when the caller aborts', async () => {
    s = await startScriptedServer([{ status: 200, body: fakeJob(), delayMs: 2_000 }]);
    const client = new MiproJobsClient({ backendUrl: s.url, ...fast });
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('user gave up')), 50);
    await expect(client.get('pl_0123', { signal: abort.signal })).rejects.toThrow('user gave up');
    expect(s.requests).toHaveLength(1);
  });

  it('a 200 that is not the promised JSON is a ResponseFormatError naming the field', async () => {
    s = await startScriptedServer([{ status: 200, body: '<html>proxy login</html>' }, { status: 200, body: { job_id: 5 } }]);
    const client = new MiproJobsClient({ backendUrl: s.url, ...fast });
    await expect(client.get('pl_0123')).rejects.toThrow(/not JSON/);
    const err = await client.get('pl_0123').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseFormatError);
    expect((err as ResponseFormatError).details.map((d) => d.path)).toContain('job_id');
  });

  it('encodes ids so they cannot change the route', async () => {
    s = await startScriptedServer([{ status: 404, body: { error: { code: 'not_found', message: 'nope' } } }]);
    const client = new MiproJobsClient({ backendUrl: s.url, ...fast });
    await expect(client.get('../keys?x=1')).rejects.toThrow(NotFoundError);
    expect(s.requests[0]?.url).toBe('/api/policy-optimization/online/jobs/..%2Fkeys%3Fx%3D1');
  });
});
