import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/rawRequest.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * The job view (and the session view, the same view) carries a weak ETag and answers a matching
 * If-None-Match with a 304 and no body: the dashboard polls it every 2 s, and it is the largest
 * answer the API gives (~330 KB with 551 candidates). The tag is the same gzipped or plain (the body
 * is equal modulo the encoding), changes when the view does, and is never looked at before the job
 * was found for the caller's tenant. node:http, so that nothing in between adds or answers headers.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe('conditional GET of a job view', () => {
  let t: TestServer;
  let job: { job_id: string; system_id: string };
  const get = (path: string, headers: Record<string, string> = {}, key = t.key) => rawRequest(t.url, path, { headers: { authorization: `Bearer ${key}`, ...headers } });

  beforeAll(async () => {
    t = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test-etag' } });
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    job = created.body;
  });
  afterAll(() => t.close());

  it('tags the view, and answers the tag it gave with a 304 and no body, gzipped or plain', async () => {
    const first = await get(`${JOBS}/${job.job_id}`);
    expect(first.status).toBe(200);
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(first.body.toString())).toMatchObject({ job_id: job.job_id });
    for (const headers of [{}, { 'accept-encoding': 'gzip' }] as Array<Record<string, string>>) {
      const again = await get(`${JOBS}/${job.job_id}`, headers);
      expect(again.headers.etag).toBe(etag);
      const unchanged = await get(`${JOBS}/${job.job_id}`, { ...headers, 'if-none-match': etag });
      expect(unchanged.status).toBe(304);
      expect(unchanged.body.length).toBe(0);
      expect(unchanged.headers.etag).toBe(etag);
      // The strong spelling and a list naming it match too (weak comparison, RFC 9110 13.1.2).
      expect((await get(`${JOBS}/${job.job_id}`, { ...headers, 'if-none-match': `"x", ${etag.slice(2)}` })).status).toBe(304);
    }
    expect((await get(`${JOBS}/${job.job_id}`, { 'if-none-match': 'W/"other"' })).status).toBe(200);
  });

  it('gives a new tag, and the whole view, once the view changed', async () => {
    const before = String((await get(`${JOBS}/${job.job_id}`)).headers.etag);
    const paused = await api(t.url, 'POST', `${JOBS}/${job.job_id}/pause`, { key: t.key });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    const after = await get(`${JOBS}/${job.job_id}`, { 'if-none-match': before });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(before);
    expect(JSON.parse(after.body.toString()).status).toBe('paused');
  });

  it('tags the session view the same way', async () => {
    const path = `/api/v1/online/sessions/${job.system_id}`;
    const first = await get(path);
    expect(first.status).toBe(200);
    const unchanged = await get(path, { 'if-none-match': String(first.headers.etag) });
    expect(unchanged.status).toBe(304);
  });

  it('is a 404 for another tenant or an unknown job whatever If-None-Match says', async () => {
    const etag = String((await get(`${JOBS}/${job.job_id}`)).headers.etag);
    const other = await t.newTenantKey();
    for (const inm of [etag, '*']) {
      for (const path of [`${JOBS}/${job.job_id}`, `/api/v1/online/sessions/${job.system_id}`, `${JOBS}/pl_unknown`]) {
        const res = await get(path, { 'if-none-match': inm }, path.endsWith('pl_unknown') ? t.key : other.key);
        expect(res.status, `${path} ${inm}`).toBe(404);
        expect(res.headers.etag, path).toBeUndefined();
      }
    }
  });
});
