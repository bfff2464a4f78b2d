import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * Issue 14, item 10: only the system id opens the proxy (the job id is no secret); with
 * PROXY_REQUIRE_KEY unknown and existing systems answer alike to a caller without a key; a caller
 * cannot spend more per call than the job's policy allows.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const CALL = { messages: [{ role: 'user', content: 'hi' }] };
const UNKNOWN = 'sys_00000000000000000000000000000000';

describe('who may use the proxy, and what a call may spend', () => {
  let fake: FakeUpstream;
  let open: TestServer;
  let keyed: TestServer;
  beforeAll(async () => {
    fake = await startFakeUpstream({ reply: 'ok' });
    const env = { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url };
    open = await startTestServer({ env });
    keyed = await startTestServer({ env: { ...env, PROXY_REQUIRE_KEY: 'true' } });
  });
  afterAll(async () => {
    await open.close();
    await keyed.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
  });

  const newJob = async (t: TestServer) =>
    (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body as { job_id: string; system_id: string; proxy_url: string };

  it('refuses the job id as a proxy credential, and never calls the upstream for it', async () => {
    const job = await newJob(open);
    const byJobId = await api(open.url, 'POST', `/api/mipro/v1/${job.job_id}/chat/completions`, { body: CALL });
    expect(byJobId.status).toBe(404);
    expect(byJobId.body.error.type).toBe('not_found_error');
    expect(fake.requests).toHaveLength(0);
    expect((await api(job.proxy_url, 'POST', '/chat/completions', { body: CALL })).status).toBe(200);
  });

  it('with PROXY_REQUIRE_KEY, answers unknown and existing systems alike to a caller without the right key', async () => {
    const job = await newJob(keyed);
    const other = await keyed.newTenantKey();
    const ask = (system: string, key: string | null) => api(keyed.url, 'POST', `/api/mipro/v1/${system}/chat/completions`, { key, body: CALL });
    const strip = (body: { error: { message: string } }, system: string) => ({ ...body.error, message: body.error.message.replace(system, 'SYSTEM') });
    for (const key of [null, 'mpx_not_a_real_key_000000000000', other.key]) {
      const unknown = await ask(UNKNOWN, key);
      const existing = await ask(job.system_id, key);
      expect(existing.status, `key ${key}`).toBe(unknown.status);
      expect([401, 404]).toContain(existing.status);
      expect(strip(existing.body, job.system_id)).toEqual(strip(unknown.body, UNKNOWN));
    }
    expect(fake.requests).toHaveLength(0);
    expect((await ask(job.system_id, keyed.key)).status).toBe(200);
  });

  it('clamps max tokens above the policy limit to it, keeps lower ones, and refuses n > 1', async () => {
    const job = await newJob(open); // policy.max_completion_tokens = 256
    const sent = async (extra: Record<string, unknown>) => {
      const res = await api(job.proxy_url, 'POST', '/chat/completions', { body: { ...CALL, ...extra } });
      expect(res.status, JSON.stringify(extra)).toBe(200);
      return fake.requests.at(-1)!.body as Record<string, unknown>;
    };
    // The policy is openai: an app's max_tokens goes as max_completion_tokens (reasoning models refuse max_tokens).
    expect((await sent({ max_tokens: 100_000 })).max_completion_tokens).toBe(256);
    expect((await sent({ max_completion_tokens: 5000 })).max_completion_tokens).toBe(256);
    expect((await sent({ max_tokens: 5 })).max_completion_tokens).toBe(5);
    expect((await sent({ n: 1 })).n).toBe(1);
    const before = fake.requests.length;
    const many = await api(job.proxy_url, 'POST', '/chat/completions', { body: { ...CALL, n: 8 } });
    expect(many.status).toBe(422);
    expect(many.body.error).toMatchObject({ param: 'n', type: 'invalid_request_error' });
    // Listed with the body's other problems, in this API's words.
    const more = await api(job.proxy_url, 'POST', '/chat/completions', { body: { ...CALL, n: 3, temperature: 'hot', max_tokens: 1.5 } });
    expect(more.body.error.message).toBe('invalid request: temperature: must be a number, got string; max_tokens: must be an integer; n: must be 1 (miprox serves one choice per call)');
    expect(fake.requests.length).toBe(before);
  });
});
