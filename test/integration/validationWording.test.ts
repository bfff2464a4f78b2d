import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, simJobBody, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A check written without a message of its own answers in this API's words, not zod's defaults:
 * an empty chat role on the proxy and an empty `candidate_id` in an export query said
 * "Too small: expected string to have >=1 characters".
 */
describe('422 wording of size checks', () => {
  let t: TestServer;
  let job: { job_id: string; proxy_url: string };
  beforeAll(async () => {
    t = await startTestServer();
    job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody() })).body;
  });
  afterAll(() => t.close());

  it('an empty chat message role is "must not be empty", in OpenAI\'s shape', async () => {
    const res = await fetch(`${job.proxy_url}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [{ role: '', content: 'q' }] }),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      error: { message: 'invalid request: messages.0.role: must not be empty', type: 'invalid_request_error', param: 'messages.0.role', code: 'validation_error' },
    });
  });

  it('an empty export candidate_id is "must not be empty"', async () => {
    const res = await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}/export?candidate_id=`, { key: t.key });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'candidate_id', message: 'must not be empty' }]);
  });

  it('a rollout id over 256 characters is a 414 that says so once', async () => {
    const res = await fetch(`${job.proxy_url}/${'r'.repeat(300)}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'q' }] }),
    });
    expect(res.status).toBe(414);
    expect(await res.json()).toEqual({
      error: { message: 'a path parameter (such as a rollout id) is longer than 256 characters', type: 'invalid_request_error', param: 'path', code: 'uri_too_long' },
    });
  });

  it('a query parameter given twice is a 422 that says so, on every route that reads a query', async () => {
    const twice = async (path: string) => {
      const res = await api(t.url, 'GET', path, { key: t.key });
      expect(res.status, path).toBe(422);
      return res.body.error.details;
    };
    const full = (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: t.key })).body;
    expect(await twice(`/api/policy-optimization/online/jobs/${job.job_id}/export?format=json&format=dspy`))
      .toEqual([{ path: 'format', message: 'is given 2 times: send it once' }]);
    expect(await twice('/api/policy-optimization/online/jobs?status=running&status=paused'))
      .toEqual([{ path: 'status', message: 'is given 2 times: send it once' }]);
    expect(await twice(`/api/v1/online/sessions/${full.session_id}/events?limit=1&limit=2&since_seq=x`))
      .toEqual([{ path: 'limit', message: 'is given 2 times: send it once' }, { path: 'since_seq', message: 'must be an integer between 0 and 2147483647 in decimal digits, got "x"' }]);
    expect(await twice(`/api/systems/${full.system_id}/candidates?sort=avg_reward&sort=created_at`))
      .toEqual([{ path: 'sort', message: 'is given 2 times: send it once' }]);
    expect(await twice(`/api/v1/online/sessions/${full.session_id}/prompt?correlation_id=a&correlation_id=b`))
      .toEqual([{ path: 'correlation_id', message: 'is given 2 times: send it once' }]);
  });

  it('a token limit over its bound says the bound, not "must be an integer >= 1"', async () => {
    // Found by the h152 fuzz run: a .max() without its own message reported positiveInt's.
    const body = simJobBody() as { policy_optimization: { policy: Record<string, unknown>; mipro: { proposer: Record<string, unknown> } } };
    body.policy_optimization.policy.max_completion_tokens = 2_000_000;
    body.policy_optimization.mipro.proposer.max_tokens = 300_000;
    const res = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      { path: 'policy_optimization.policy.max_completion_tokens', message: 'must be <= 1000000' },
      { path: 'policy_optimization.mipro.proposer.max_tokens', message: 'must be <= 200000' },
    ]);
  });

  it('a Messages turn with more content blocks than the bound says the bound', async () => {
    // Found by the h152 fuzz run: 5,000 blocks were told "must be a string or an array of content blocks".
    const res = await fetch(`${job.proxy_url}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', max_tokens: 5, messages: [{ role: 'user', content: Array.from({ length: 4097 }, () => ({ type: 'text', text: 'q' })) }] }),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      type: 'error', error: { type: 'invalid_request_error', message: 'invalid request: messages.0.content: must have at most 4096 blocks' },
    });
  });

  it('an initial_prompt pattern is bounded as a module template is (it is module "main"\'s template)', async () => {
    // Found by the h152 fuzz run: a 180,000-character pattern was taken where a module template is capped.
    const res = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody({}, 'x'.repeat(100_001)) });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      { path: 'policy_optimization.initial_prompt.messages.0.pattern', message: 'must be at most 100000 characters' },
    ]);
    const atBound = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody({}, 'x'.repeat(100_000)) });
    expect(atBound.status).toBe(200);
  });

  it('a Responses input item whose content is neither text nor parts says what it must be', async () => {
    const res = await fetch(`${job.proxy_url}/responses`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', input: [{ role: 'user', content: 5 }] }),
    });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      error: { message: 'invalid request: input.0.content: must be a string or an array of at most 4096 content parts', type: 'invalid_request_error', param: 'input.0.content', code: 'validation_error' },
    });
  });
});
