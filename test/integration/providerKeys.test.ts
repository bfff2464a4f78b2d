import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, seedJobBody, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * Issue 16 item 2: a job naming a provider whose key the server lacks used to be created, and then
 * every proxied call failed with a 502. It is refused at creation, for the policy and the proposer.
 */
const JOBS = '/api/policy-optimization/online/jobs';
type Detail = { path: string; message: string };

describe('jobs whose provider key is not set on the server', () => {
  let bare: TestServer;
  let keyed: TestServer;
  beforeAll(async () => {
    bare = await startTestServer();
    keyed = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test-never-called', ANTHROPIC_API_KEY: 'ak-test-never-called' } });
  });
  afterAll(async () => {
    await bare.close();
    await keyed.close();
  });

  it('refuses provider "openai" without OPENAI_API_KEY, naming the variable and the sim alternative', async () => {
    const res = await api(bare.url, 'POST', JOBS, { key: bare.key, body: seedJobBody() });
    expect(res.status).toBe(422);
    const details = res.body.error.details as Detail[];
    expect(details.map((d) => d.path).sort()).toEqual(['policy_optimization.mipro.proposer.provider', 'policy_optimization.policy.provider']);
    for (const d of details) {
      expect(d.message).toMatch(/OPENAI_API_KEY/);
      expect(d.message).toMatch(/provider "sim"/);
    }
    expect((await bare.server.store.listJobs(bare.tenantId, { limit: 10 })).items).toHaveLength(0);
  });

  it('refuses an anthropic proposer without ANTHROPIC_API_KEY while the sim policy is fine', async () => {
    const res = await api(bare.url, 'POST', JOBS, { key: bare.key, body: seedJobBody({ provider: 'sim', model: 'sim-policy', proposerProvider: 'anthropic', proposerModel: 'claude-x' }) });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'policy_optimization.mipro.proposer.provider', message: expect.stringMatching(/ANTHROPIC_API_KEY.*provider "sim"/) }]);
  });

  it('reports a provider set by an override under the override', async () => {
    const res = await api(bare.url, 'POST', '/api/v1/online/sessions', { key: bare.key, body: { config_body: simJobBody(), overrides: { 'prompt_learning.policy.provider': 'openai' } } });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'overrides.prompt_learning.policy.provider', message: expect.stringMatching(/OPENAI_API_KEY/) }]);
  });

  it('accepts sim anywhere, and keyed providers when the server has the keys', async () => {
    expect((await api(bare.url, 'POST', JOBS, { key: bare.key, body: simJobBody() })).status).toBe(200);
    expect((await api(keyed.url, 'POST', JOBS, { key: keyed.key, body: seedJobBody() })).status).toBe(200);
    const anthropic = seedJobBody({ provider: 'anthropic', model: 'claude-x', proposerProvider: 'anthropic', proposerModel: 'claude-x' });
    expect((await api(keyed.url, 'POST', JOBS, { key: keyed.key, body: anthropic })).status).toBe(200);
  });
});
