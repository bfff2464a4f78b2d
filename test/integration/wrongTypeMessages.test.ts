import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, simJobBody, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A field of the wrong JSON type is a 422 whose problem says so in JSON's words, once per field:
 * `must be an object, got string` for the object-of-values fields (metadata, overrides,
 * feedback_by_module), never zod's `record`, and no second problem from a check meant for the right type.
 */
describe('wrong-type messages', () => {
  let t: TestServer;
  let session: string;
  beforeAll(async () => {
    t = await startTestServer();
    session = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody() })).body.session_id;
  });
  afterAll(() => t.close());

  const reward = (body: unknown) => api(t.url, 'POST', `/api/v1/online/sessions/${session}/reward`, { key: t.key, body });

  it('names an object field that is not an object "an object", never "a record"', async () => {
    const meta = await reward({ candidate_id: 'baseline', reward_info: { score: 1 }, metadata: 'x' });
    expect(meta.status).toBe(422);
    expect(meta.body.error.details).toEqual([{ path: 'metadata', message: 'must be an object, got string' }]);

    const feedback = await reward({ candidate_id: 'baseline', reward_info: { score: 1, feedback_by_module: [] } });
    expect(feedback.status).toBe(422);
    expect(feedback.body.error.details).toEqual([{ path: 'reward_info.feedback_by_module', message: 'must be an object, got array' }]);

    const created = await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: simJobBody(), overrides: 'x' } });
    expect(created.status).toBe(422);
    expect(created.body.error.details).toEqual([{ path: 'overrides', message: 'must be an object, got string' }]);
  });

  it('lists a wrong-typed field once, by its type, without the checks meant for the right type', async () => {
    const res = await reward({ reward_info: { score: 1 }, correlation_id: [] });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'correlation_id', message: 'must be a string, got array' }]);
  });
});
