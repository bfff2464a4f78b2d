import { beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

/**
 * Issue 14, item 4: a rollout id that cannot go in a header (or the database) is refused first, in
 * our error shape, before any upstream call or write. The character set is docs/API.md's.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const CALL = { messages: [{ role: 'user', content: 'hi' }] };

describe.each(['sqlite', 'postgres'] as const)('rollout ids on %s', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  let job: { job_id: string; system_id: string; proxy_url: string };
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));
  beforeAll(async () => {
    job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body;
  });

  // Encoded as they appear in the URL: euro sign, NUL, newline, DEL, a space, a quote, percent.
  it.each(['r%E2%82%AC', '%00', 'a%0Ab', '%7F', 'a%20b', 'a%22b', 'a%25b', 'caf%C3%A9'])('refuses %s with a 422 and no upstream call', async (encoded) => {
    const rollouts = async () => (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body.rollout_count as number;
    const before = await rollouts();
    for (const path of [`/${encoded}/chat/completions`, `/${encoded}/v1/chat/completions`]) {
      const res = await api(job.proxy_url, 'POST', path, { body: CALL });
      expect(res.status, path).toBe(422);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'rollout_id', code: 'validation_error' });
      // A NUL is refused by the request guard before the rollout id rule (same status, same param).
      expect(res.body.error.message).toMatch(/A-Z a-z 0-9|NUL/);
    }
    expect(fake.requests).toHaveLength(0);
    expect(await rollouts()).toBe(before); // nothing written
  });

  it('refuses a bad rollout id even for an unknown system (checked before anything else)', async () => {
    const res = await api(t.url, 'POST', '/api/mipro/v1/sys_00000000000000000000000000000000/%00/chat/completions', { body: CALL });
    expect(res.status).toBe(422);
    expect(res.body.error.param).toBe('rollout_id');
  });

  it('accepts every character of the documented set, and echoes the id in the header', async () => {
    const id = 'AZaz09._~:@+=-';
    const res = await api(job.proxy_url, 'POST', `/${id}/chat/completions`, { body: CALL });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-mipro-rollout-id')).toBe(id);
    const uuid = '0f8e2c1a-6b7d-4e3f-9a21-5c4d3b2a1f00';
    expect((await api(job.proxy_url, 'POST', `/${uuid}/chat/completions`, { body: CALL })).status).toBe(200);
  });

  it('applies the same rule to rollout ids in rewards (both databases answer alike)', async () => {
    for (const rollout_id of ['a\u0000b', 'line\nbreak', 'caf\u00e9', '']) {
      const res = await api(t.url, 'POST', `${SESSIONS}/${job.system_id}/reward`, { key: t.key, body: { rollout_id, candidate_id: 'baseline', reward_info: { score: 1 } } });
      expect(res.status, JSON.stringify(rollout_id)).toBe(422);
      expect(res.body.error.details[0].path).toBe('rollout_id');
    }
    const legacy = await api(t.url, 'POST', `/api/prompt-learning/online/mipro/systems/${job.system_id}/status`, { key: t.key, body: { rollout_id: 'a\u0000', status: 'reward', reward: 1 } });
    expect(legacy.status).toBe(422);
  });
});
