import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/api/jsonDepth.js';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, api, seedJobBody, simJobBody } from '../helpers/server.js';

/**
 * Issue 14, item 5: deeply nested JSON is refused (422) before any work, on every JSON route; what
 * is accepted can always be read back. The limit is MAX_JSON_DEPTH, documented in docs/API.md.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';

/** `{"a":{"a":...{}}}` with `levels` objects in all (the outermost counts as one). */
function nested(levels: number): unknown {
  let v: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
}
/** The same as raw text, for depths JSON.stringify itself cannot handle. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;

describe.each(['sqlite', 'postgres'] as const)('deeply nested JSON on %s', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  let session: { session_id: string; job_id: string; proxy_url: string };
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));
  beforeAll(async () => {
    session = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify.') } })).body;
  });

  const reward = (rolloutId: string, metadataText: string) =>
    api(t.url, 'POST', `${SESSIONS}/${session.session_id}/reward`, {
      key: t.key, rawBody: `{"rollout_id":"${rolloutId}","candidate_id":"baseline","reward_info":{"score":1},"metadata":${metadataText}}`,
    });

  it('refuses reward metadata 5,000 levels deep with a 422, and stores nothing', async () => {
    const res = await reward('deep5000', nestedText(5000));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_error');
    expect(res.body.error.message).toBe(`JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`);
    const rewards = await api(t.url, 'GET', `${SESSIONS}/${session.session_id}/rewards`, { key: t.key });
    expect(rewards.status).toBe(200);
    expect(rewards.body.items.map((r: { rollout_id: string }) => r.rollout_id)).not.toContain('deep5000');
  });

  it('refuses one level over the limit and accepts the limit, which then reads back everywhere', async () => {
    // The body is the outer level, metadata the second: metadata may have MAX_JSON_DEPTH - 1 levels.
    expect((await reward('over', nestedText(MAX_JSON_DEPTH))).status).toBe(422);
    const ok = await reward('at_limit', JSON.stringify(nested(MAX_JSON_DEPTH - 1)));
    expect(ok.status).toBe(200);
    const reads = [
      ['GET', `${SESSIONS}/${session.session_id}/rewards`],
      ['GET', `${SESSIONS}/${session.session_id}`],
      ['GET', `${JOBS}/${session.job_id}`],
      ['GET', JOBS],
      ['GET', `${SESSIONS}/${session.session_id}/events`],
      ['POST', `${JOBS}/${session.job_id}/cancel`],
    ] as const;
    for (const [method, path] of reads) {
      const res = await api(t.url, method, path, { key: t.key });
      expect(res.status, `${method} ${path}`).toBe(200);
    }
  });

  it('refuses a deep proxy body in OpenAI shape without calling the upstream', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body;
    const raw = `{"messages":[{"role":"user","content":"hi"}],"response_format":${nestedText(3000)}}`;
    const res = await api(job.proxy_url, 'POST', '/r1/chat/completions', { rawBody: raw });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'validation_error' });
    expect(res.body.error.message).toMatch(/nested more than 64 levels/);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses deep job metadata at creation', async () => {
    const raw = JSON.stringify({ ...simJobBody(), metadata: { x: 1 } }).replace('{"x":1}', nestedText(5000));
    const res = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: raw });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: '', message: `must not nest objects and arrays more than ${MAX_JSON_DEPTH} levels deep` }]);
  });
});
