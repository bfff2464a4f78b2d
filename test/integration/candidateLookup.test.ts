import { describe, expect, it } from 'vitest';
import { newJobId, newSystemId } from '../../src/shared/ids.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * Issue 14, item 7: GET /api/candidates/baseline?system_id= searched `limit 50` rows across all
 * tenants before filtering, so another tenant's jobs could crowd out the caller's own baseline.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe.each(['sqlite', 'postgres'] as const)('candidate lookup by id on %s', (db) => {
  let t: TestServer;
  useTestServer({ db, env: { OPENAI_API_KEY: 'sk-test-unused' } }, (s) => (t = s));

  it("finds a tenant's own baseline whatever other tenants hold", async () => {
    // Another tenant with many jobs, each with a baseline (written straight to the store: fast).
    const other = await t.newTenantKey();
    const { config } = (await t.server.store.getJob((await api(t.url, 'POST', JOBS, { key: other.key, body: seedJobBody({ initialPrompt: 'Other.' }) })).body.job_id))!;
    for (let i = 0; i < 120; i++) {
      await t.server.store.createJob({ id: newJobId(), tenantId: other.tenantId, systemId: newSystemId(), config, modules: [{ name: 'main', template: `Other ${i}.` }], correlationId: null, metadata: {} });
    }
    const mine = await t.newTenantKey();
    const job = (await api(t.url, 'POST', JOBS, { key: mine.key, body: seedJobBody({ initialPrompt: 'Mine.' }) })).body;

    const bySystem = await api(t.url, 'GET', `/api/candidates/baseline?system_id=${job.system_id}`, { key: mine.key });
    expect(bySystem.status).toBe(200);
    expect(bySystem.body).toMatchObject({ candidate_id: 'baseline', system_id: job.system_id, instruction: 'Mine.' });
    // Without system_id, the tenant's only baseline is unambiguous: the other tenant's do not count.
    const alone = await api(t.url, 'GET', '/api/candidates/baseline', { key: mine.key });
    expect(alone.status).toBe(200);
    expect(alone.body.system_id).toBe(job.system_id);
    // Another tenant's system is a 404, never its candidate.
    const foreign = await api(t.url, 'GET', `/api/candidates/baseline?system_id=${job.system_id}`, { key: other.key });
    expect(foreign.status).toBe(404);
    // The other tenant has many baselines: ambiguous without system_id.
    const ambiguous = await api(t.url, 'GET', '/api/candidates/baseline', { key: other.key });
    expect(ambiguous.status).toBe(422);
    expect(ambiguous.body.error.details[0].path).toBe('system_id');
  });

  it('answers system_id given twice with a 422 naming it, not a 500', async () => {
    const mine = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Twice.' }) })).body;
    const twice = await api(t.url, 'GET', `/api/candidates/baseline?system_id=${mine.system_id}&system_id=${mine.system_id}`, { key: t.key });
    expect(twice.status).toBe(422);
    expect(twice.body.error.details).toEqual([{ path: 'system_id', message: 'is given 2 times: send it once' }]);
    // Closed like the lists' queries: a misspelt system_id is named, not a lookup across systems.
    const typo = await api(t.url, 'GET', `/api/candidates/baseline?systemid=${mine.system_id}`, { key: t.key });
    expect(typo.status).toBe(422);
    expect(typo.body.error.details).toEqual([{ path: 'systemid', message: expect.stringMatching(/unknown field; did you mean system_id/) }]);
    // The same lookup with the parameter once still finds it.
    const once = await api(t.url, 'GET', `/api/candidates/baseline?system_id=${mine.system_id}`, { key: t.key });
    expect([once.status, once.body.instruction]).toEqual([200, 'Twice.']);
  });
});
