import { describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * `POST .../pause|resume|cancel` on jobs and sessions read no body: no body, an empty one, `{}` or
 * `null` is fine, and a body that says something is a 422 naming each key, as every other route
 * refuses a key it does not know, and the job does not move (it used to: `{"force": false}` on
 * cancel cancelled the job for good). An unknown job stays the 404 it was.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe('a body sent to pause, resume or cancel', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  const create = async () => (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).body as { job_id: string; system_id: string };
  const status = async (jobId: string) => (await api(t.url, 'GET', `${JOBS}/${jobId}`, { key: t.key })).body.status as string;

  it('is refused with a 422 naming each key, and the job stays as it was', async () => {
    const job = await create();
    for (const base of [`${JOBS}/${job.job_id}`, `/api/v1/online/sessions/${job.system_id}`, `/api/v2/online/sessions/${job.system_id}`]) {
      for (const action of ['pause', 'resume', 'cancel']) {
        const res = await api(t.url, 'POST', `${base}/${action}`, { key: t.key, body: { force: false, state: 'paused' } });
        expect(res.status, `${base}/${action}`).toBe(422);
        expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(['force', 'state']);
        expect(res.body.error.details[0].message).toBe(`unknown field; ${action} takes no body: send none, or {} (PATCH takes {"state"}); the job was left as it was`);
        const notObject = await api(t.url, 'POST', `${base}/${action}`, { key: t.key, body: ['x'] });
        expect(notObject.status).toBe(422);
        expect(notObject.body.error.details).toEqual([{ path: '', message: `${action} takes no body: send none, or {} (PATCH takes {"state"}); the job was left as it was` }]);
        expect(await status(job.job_id)).toBe('running');
      }
    }
  });

  it('says nothing when it is {} or null: the action is taken', async () => {
    const job = await create();
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/pause`, { key: t.key, body: {} })).body.status).toBe('paused');
    expect((await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/resume`, { key: t.key, rawBody: 'null', headers: { 'content-type': 'application/json' } })).body.status).toBe('running');
    expect((await api(t.url, 'POST', `/api/v2/online/sessions/${job.system_id}/cancel`, { key: t.key, body: {} })).body.status).toBe('cancelled');
  });

  it('is a 404 for an unknown job, whatever the body', async () => {
    expect((await api(t.url, 'POST', `${JOBS}/pl_unknown/cancel`, { key: t.key, body: { force: true } })).status).toBe(404);
    expect((await api(t.url, 'POST', '/api/v1/online/sessions/sys_unknown/cancel', { key: t.key, body: { force: true } })).status).toBe(404);
  });
});
