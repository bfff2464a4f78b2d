import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, seedJobBody, simJobBody, startTestServer } from '../helpers/server.js';
import { testDatabase } from '../helpers/testDatabase.js';

/**
 * MIPROX_PROVIDERS: every server registered every provider, the offline simulator included, so any
 * tenant of a production server could create jobs on `sim` (or on an `openai_compatible` upstream of
 * its choice). A job naming a provider the operator left out is a 422 naming the field and the allowed
 * list, before anything is stored; a job created before the list shrank keeps running.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const CALL = { model: 'x', messages: [{ role: 'system', content: 'Classify the query.' }, { role: 'user', content: 'lost card' }] };
const NOT_ALLOWED = (provider: string) => `"${provider}" is not allowed on this miprox server (MIPROX_PROVIDERS): use one of openai, anthropic`;

describe('MIPROX_PROVIDERS (sqlite, over HTTP)', () => {
  const database = testDatabase('sqlite', 'providers');
  let t: TestServer;
  let earlierProxyPath: string;
  beforeAll(async () => {
    // A sim job made while every provider was allowed, then the server restarted with the list.
    const before = await startTestServer({ env: database.env });
    earlierProxyPath = new URL((await api(before.url, 'POST', JOBS, { key: before.key, body: simJobBody() })).body.proxy_url).pathname;
    await before.close();
    t = await startTestServer({ env: { ...database.env, MIPROX_PROVIDERS: 'openai, anthropic', OPENAI_API_KEY: 'sk-test-unused' } });
  });
  afterAll(async () => t.close());

  const jobCount = async () => (await api(t.url, 'GET', JOBS, { key: t.key })).body.items.length;

  it('refuses a job on a provider left out, naming the field and the allowed list, storing nothing', async () => {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      { path: 'policy_optimization.policy.provider', message: NOT_ALLOWED('sim') },
      { path: 'policy_optimization.mipro.proposer.provider', message: NOT_ALLOWED('sim') },
    ]);
    expect(await jobCount()).toBe(0);
  });

  it('checks the proposer apart from the policy', async () => {
    const body = seedJobBody({ provider: 'openai', proposerProvider: 'openai_compatible', inferenceUrl: 'https://llm.example.com/v1' });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'policy_optimization.mipro.proposer.provider', message: NOT_ALLOWED('openai_compatible') }]);
    expect(await jobCount()).toBe(0);
  });

  it('refuses it on session creation too, and in overrides', async () => {
    const session = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody() } });
    expect(session.status).toBe(422);
    expect(session.body.error.details.map((d: { path: string }) => d.path)).toEqual(['config_body.policy_optimization.policy.provider', 'config_body.policy_optimization.mipro.proposer.provider']);
    const overridden = await api(t.url, 'POST', JOBS, { key: t.key, body: { config_body: seedJobBody(), overrides: { 'policy.provider': 'sim', 'policy.model': 'sim-policy' } } });
    expect(overridden.status).toBe(422);
    expect(overridden.body.error.details).toEqual([{ path: 'overrides.policy.provider', message: NOT_ALLOWED('sim') }]);
    expect(await jobCount()).toBe(0);
  });

  it('suggests the simulator for a missing provider key only where it is allowed', async () => {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ provider: 'anthropic', model: 'claude-x' }) });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'policy_optimization.policy.provider', message: '"anthropic" needs ANTHROPIC_API_KEY, which is not set on this miprox server: set it and restart the server' }]);
  });

  it('creates a job on an allowed provider', async () => {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('keeps serving a job created before its provider was left out', async () => {
    // The restarted server listens on another port: the proxy URL's path is the job's.
    const res = await fetch(`${t.url}${earlierProxyPath}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CALL) });
    expect(res.status).toBe(200);
  });
});
