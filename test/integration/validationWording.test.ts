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
});
