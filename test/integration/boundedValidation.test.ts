import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

/**
 * Issue 14, item 2: a body with a million bad entries must cost bounded work and a small answer.
 * Errors list at most 20 problems and say how many there were (or that checking stopped); the
 * proxy looks the system up before it reads the body's messages, so a stranger pays nothing.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const MAX_LISTED = 20;

describe('validation work and answers are bounded', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ upstream: { reply: 'ok' } }, (s) => ({ fake, t } = s));

  // 4 MB under the default body limit: `{"messages":[{},{},...]}` with about 1.3 million bad messages.
  const hugeBadMessages = () => `{"messages":[${'{},'.repeat(1_300_000)}{}]}`;

  it('refuses a huge bad body to an unknown system with a 404, before validating it', async () => {
    const raw = hugeBadMessages();
    expect(raw.length).toBeLessThan(4 * 1024 * 1024);
    const res = await fetch(`${t.url}/api/mipro/v1/sys_00000000000000000000000000000000/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: raw,
    });
    const text = await res.text();
    expect(res.status).toBe(404);
    expect(text.length).toBeLessThan(1000);
    expect(JSON.parse(text).error.type).toBe('not_found_error');
  });

  it('lists at most 20 problems for a huge bad body to a real system, and never calls the upstream', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body as { chat_completions_url: string };
    const before = fake.requests.length;
    const res = await fetch(job.chat_completions_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: hugeBadMessages() });
    const text = await res.text();
    expect(res.status).toBe(422);
    expect(text.length).toBeLessThan(10_000);
    expect(JSON.parse(text).error).toMatchObject({ type: 'invalid_request_error', param: 'messages', message: expect.stringMatching(/at most 10000 messages/) });
    // Under the count limit, checking stops after 20 bad messages.
    const many = await fetch(job.chat_completions_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"messages":[${'{},'.repeat(9_000)}{}]}` });
    const err = (await many.json()).error as { message: string; param: string; type: string };
    expect(many.status).toBe(422);
    expect(err.param).toBe('messages.0.role');
    expect(err.message).toMatch(/checking stopped after the first 20 problems/);
    expect(err.message.match(/messages\.\d+\.role/g)).toHaveLength(MAX_LISTED);
    expect(fake.requests.length).toBe(before);
  });

  it('answers a job with a million invalid seeds with a short 422, not a 500', async () => {
    const body = seedJobBody();
    const raw = JSON.stringify(body).replace('"bootstrap_train_seeds":[0,1,2,3,4]', `"bootstrap_train_seeds":[${'-1,'.repeat(999_999)}-1]`);
    expect(raw.length).toBeLessThan(4 * 1024 * 1024);
    const res = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: raw });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body).length).toBeLessThan(10_000);
    const details = res.body.error.details as Array<{ path: string; message: string }>;
    expect(details.length).toBeLessThanOrEqual(MAX_LISTED);
    expect(details).toContainEqual({ path: 'policy_optimization.mipro.bootstrap_train_seeds', message: 'at most 100000 seeds (got 1000000)' });
  });

  it('refuses over-long arrays anywhere in a proxy body by their length, not element by element', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body as { chat_completions_url: string };
    const ones = (n: number) => `[${'1,'.repeat(n - 1)}1]`;
    const cases: Array<[string, string]> = [
      [`{"messages":[{"role":"user","content":${ones(500_000)}}]}`, 'messages.0.content'],
      [`{"messages":[{"role":"user","content":"x"}],"tools":${ones(500_000)}}`, 'tools'],
      [`{"messages":[{"role":"assistant","tool_calls":${ones(500_000)}}]}`, 'messages.0.tool_calls'],
      [`{"messages":[${'{"role":"u"},'.repeat(20_000)}{"role":"u"}]}`, 'messages'],
    ];
    for (const [raw, param] of cases) {
      const res = await fetch(job.chat_completions_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
      const text = await res.text();
      expect(res.status, param).toBe(422);
      expect(text.length, param).toBeLessThan(2000);
      expect(JSON.parse(text).error.param).toBe(param);
    }
  });

  it('refuses over-long arrays and records in a job configuration by their length', async () => {
    const body = seedJobBody({ initialPrompt: 'x' });
    const prompt = body.policy_optimization.initial_prompt as { messages: unknown[]; wildcards?: Record<string, unknown> };
    prompt.messages = Array.from({ length: 100_000 }, () => ({}));
    prompt.wildcards = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`w${i}`, 5]));
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual(expect.arrayContaining([
      { path: 'policy_optimization.initial_prompt.messages', message: 'must have at most 64 messages' },
      { path: 'policy_optimization.initial_prompt.wildcards', message: 'must have at most 256 entries' },
    ]));
    expect(res.body.error.details.length).toBeLessThanOrEqual(MAX_LISTED);
  });

  it('names the first bad seeds and counts the rest', async () => {
    const body = seedJobBody();
    body.policy_optimization.mipro.online_pool = [...Array.from({ length: 5000 }, () => 'x'), 1] as never;
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(422);
    const details = res.body.error.details as Array<{ path: string; message: string }>;
    expect(details.length).toBeLessThanOrEqual(MAX_LISTED);
    expect(details).toContainEqual({ path: 'policy_optimization.mipro.online_pool.0', message: 'must be an integer between 0 and 2147483647' });
    expect(details).toContainEqual({ path: 'policy_optimization.mipro.online_pool', message: expect.stringMatching(/^5000 entries in all are not seeds/) });
  });

  it('caps any long problem list at 20 and gives the total in the message', async () => {
    // Every override path is bad: one problem each, far more than are listed.
    const overrides = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`prototype.x${i}`, 1]));
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: { algorithm: 'mipro', config_body: seedJobBody(), overrides } });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toHaveLength(MAX_LISTED);
    expect(res.body.error.message).toBe('invalid job configuration (500 problems; the first 20 are listed)');
  });

  it('still lists every problem of an ordinary bad body', async () => {
    const body = seedJobBody();
    const po = body.policy_optimization as Record<string, any>;
    po.algorithm = 'x';
    po.mipro.mode = 'y';
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toBe('invalid job configuration');
    expect(res.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['policy_optimization.algorithm', 'policy_optimization.mipro.mode']);
  });
});
