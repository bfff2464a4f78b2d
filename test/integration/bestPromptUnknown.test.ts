import { describe, expect, it } from 'vitest';
import { api, simJobBody, type TestServer } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * A job that discovers its modules knows no prompt before its first call: `best_prompt` is null
 * there (job view and the older /state dict), not `""`, which is the text of a real module (calls
 * that send no system message). After the first call it is that call's system text.
 */
describe('best_prompt before a discovering job sees a call', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('is null until a module exists, then the module text', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody() })).body;
    expect(job).toMatchObject({ modules: [], best_program: {}, best_prompt: null });
    const view = async () => (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: t.key })).body.best_prompt;
    const state = async () => (await api(t.url, 'GET', `/api/prompt-learning/online/mipro/systems/${job.system_id}/state`, { key: t.key })).body.best_prompt;
    expect(await view()).toBeNull();
    expect(await state()).toBeNull();

    const res = await fetch(`${job.proxy_url}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [{ role: 'system', content: 'Classify the query.' }, { role: 'user', content: 'lost card' }] }),
    });
    expect(res.status).toBe(200);
    expect(await view()).toBe('Classify the query.');
    expect(await state()).toBe('Classify the query.');
  });
});
