import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INFERENCE_URL_LENGTH } from '../../src/schemas/jobConfig.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * Every byte an openai_compatible upstream answers is searched for the inference_url's query
 * credentials: a URL of megabytes (one long `?key=`, or very many) let a tenant's own server hold the
 * event loop for seconds per answer chunk. The URL's length is bounded at creation.
 */
describe('inference_url length', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t?.close());

  /** A public address (no DNS, no allowlist needed) with a `?key=` query padded to `length` characters. */
  const urlOf = (length: number): string => {
    const head = 'http://203.0.113.7/v1?key=';
    return head + 'k'.repeat(length - head.length);
  };

  it(`accepts ${MAX_INFERENCE_URL_LENGTH} characters and refuses one more, on the policy and the proposer, creating nothing`, async () => {
    const ok = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ provider: 'openai_compatible', model: 'm', inferenceUrl: urlOf(MAX_INFERENCE_URL_LENGTH), proposerProvider: 'sim', proposerModel: 'sim-proposer' }) });
    expect(ok.status).toBe(200);
    const before = (await api(t.url, 'GET', JOBS, { key: t.key })).body.items.length;
    const long = urlOf(MAX_INFERENCE_URL_LENGTH + 1);
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ provider: 'openai_compatible', model: 'm', inferenceUrl: long, proposerProvider: 'openai_compatible', proposerModel: 'm' }) });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      { path: 'policy_optimization.policy.inference_url', message: `must be at most ${MAX_INFERENCE_URL_LENGTH} characters` },
      { path: 'policy_optimization.mipro.proposer.inference_url', message: `must be at most ${MAX_INFERENCE_URL_LENGTH} characters` },
    ]);
    expect((await api(t.url, 'GET', JOBS, { key: t.key })).body.items.length).toBe(before);
  });
});
