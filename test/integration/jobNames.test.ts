import { describe, expect, it } from 'vitest';
import { MiproOnlineSession } from '../../src/sdk/index.js';
import { runCli } from '../helpers/childServer.js';
import { type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * Issue 16 item 7: jobs had no names anywhere, although sessions take `system.name`. A job takes
 * `name` (or the public SDK's `system.name`), and views, the SDK and the CLI tables show it.
 */
describe('job names', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('are taken from name or system.name and shown by the job views and lists', async () => {
    const named = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...simJobBody(), name: '  banking intents  ' } });
    expect(named.status).toBe(200);
    expect(named.body.name).toBe('banking intents');
    const session = await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: simJobBody(), system: { name: 'support triage' } } });
    expect(session.body.name).toBe('support triage');
    const unnamed = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
    expect(unnamed.body.name).toBeNull();
    expect((await api(t.url, 'GET', `${JOBS}/${named.body.job_id}`, { key: t.key })).body.name).toBe('banking intents');
    const list = await api(t.url, 'GET', JOBS, { key: t.key });
    expect(list.body.items.map((j: { name: string | null }) => j.name)).toEqual([null, 'support triage', 'banking intents']);
  });

  it('cannot be set through metadata: the client\'s mipro_ keys are dropped, its own keys kept', async () => {
    const body = { ...simJobBody(), metadata: { mipro_job_name: 'spoof', mipro_system_id: 'sys_copied', team: 'search' } };
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(200);
    const view = (await api(t.url, 'GET', `${JOBS}/${res.body.job_id}`, { key: t.key })).body;
    expect(view.name).toBeNull();
    expect(view.metadata).toEqual({ team: 'search', mipro_system_id: res.body.system_id, mipro_proxy_url: res.body.proxy_url });
    const named = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...body, name: 'real name' } });
    expect((await api(t.url, 'GET', `${JOBS}/${named.body.job_id}`, { key: t.key })).body.name).toBe('real name');
  });

  it('refuses an empty or non-string name', async () => {
    const empty = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...simJobBody(), name: ' ' } });
    expect(empty.status).toBe(422);
    expect(empty.body.error.details).toEqual([{ path: 'name', message: 'must not be empty' }]);
    const number = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...simJobBody(), system: { name: 5 } } });
    expect(number.body.error.details).toEqual([{ path: 'system.name', message: 'must be a string' }]);
  });

  it('reach the SDK and the CLI tables', async () => {
    const { key } = await t.newTenantKey();
    const session = await MiproOnlineSession.create({ backendUrl: t.url, apiKey: key, config: simJobBody(), name: 'from the sdk' });
    expect((await session.status()).name).toBe('from the sdk');
    const env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: key };
    const list = await runCli(['jobs', 'list'], env);
    expect(list.stdout).toMatch(/^JOB_ID\s+NAME\s+STATUS/);
    expect(list.stdout).toMatch(/pl_[0-9a-f]+\s+from the sdk\s+running/);
    const show = await runCli(['jobs', 'show', session.jobId], env);
    expect(show.stdout).toMatch(/^name\s+from the sdk$/m);
  }, 120_000);
});
