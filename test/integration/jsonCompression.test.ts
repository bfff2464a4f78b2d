import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { GZIP_MIN_BYTES } from '../../src/api/jsonCompression.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { rawRequest as raw } from '../helpers/rawRequest.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

/**
 * The control API's large JSON answers go gzipped to a client that accepts gzip (the dashboard polls
 * a job's view every 2 s: ~340 KB each time with 551 candidates), with `vary: accept-encoding`; the
 * proxy's answers (JSON and SSE) and /metrics never are. node:http rather than fetch, which would add
 * an accept-encoding of its own and decompress, hiding what went over the wire.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const REPLY = 'A long answer from the policy model. '.repeat(60);

describe('gzip on the control API', () => {
  let t: TestServer;
  useFakeUpstreamServer({ upstream: { reply: REPLY } }, (s) => ({ t } = s));
  let job: { job_id: string; system_id: string; chat_completions_url: string };
  const auth = () => ({ authorization: `Bearer ${t.key}` });
  const get = (path: string, headers: Record<string, string> = {}) => raw(t.url, path, { headers: { ...auth(), ...headers } });

  beforeAll(async () => {
    job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify the support ticket by its intent and urgency. '.repeat(30) }) })).body;
    // A few candidates, so the view is many times the threshold.
    for (let i = 0; i < 5; i++) {
      const added = await api(t.url, 'POST', `/api/systems/${job.system_id}/candidates`, { key: t.key, body: { instruction: `Classify the ticket, variant ${i}.` } });
      expect(added.status, JSON.stringify(added.body)).toBe(200);
    }
    // A proxied call under a rollout id, so the rollout views have a long answer to show.
    const call = await raw(t.url, `/api/mipro/v1/${job.system_id}/r-big/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(call.status, call.body.toString()).toBe(200);
    // Its usage and records are written after the answer: wait, so every read below sees the same job.
    await t.server.settled();
  });

  it('gzips a large job view for a client that accepts gzip, which decodes to exactly the plain answer', async () => {
    const plain = await get(`${JOBS}/${job.job_id}`);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(4 * GZIP_MIN_BYTES);
    for (const ae of ['gzip', 'gzip, deflate, br, zstd', 'br;q=1, gzip;q=0.5', 'x-gzip', '*']) {
      const zipped = await get(`${JOBS}/${job.job_id}`, { 'accept-encoding': ae });
      expect(zipped.status, ae).toBe(200);
      expect(zipped.headers['content-encoding'], ae).toBe('gzip');
      expect(zipped.headers.vary, ae).toBe('accept-encoding');
      expect(zipped.headers['content-type'], ae).toBe('application/json; charset=utf-8');
      expect(Number(zipped.headers['content-length']), ae).toBe(zipped.body.length);
      expect(zipped.body.length, ae).toBeLessThan(plain.body.length / 3);
      expect(gunzipSync(zipped.body).equals(plain.body), ae).toBe(true);
    }
    // HEAD announces what the GET would send.
    const head = await raw(t.url, `${JOBS}/${job.job_id}`, { method: 'HEAD', headers: { ...auth(), 'accept-encoding': 'gzip' } });
    expect(head.status).toBe(200);
    expect(head.headers['content-encoding']).toBe('gzip');
    expect(head.headers.vary).toBe('accept-encoding');
    expect(Number(head.headers['content-length'])).toBeLessThan(plain.body.length / 3);
  });

  it('sends the plain answer, with vary, to a client that does not accept gzip', async () => {
    const plain = await get(`${JOBS}/${job.job_id}`);
    expect(plain.headers.vary).toBe('accept-encoding');
    for (const ae of ['identity', 'gzip;q=0', 'deflate, br', '*;q=0', '']) {
      const res = await get(`${JOBS}/${job.job_id}`, { 'accept-encoding': ae });
      expect(res.status, ae).toBe(200);
      expect(res.headers['content-encoding'], ae).toBeUndefined();
      expect(res.headers.vary, ae).toBe('accept-encoding');
      expect(res.body.equals(plain.body), ae).toBe(true);
    }
  });

  it('gzips the other large control answers too: sessions, candidates, rollouts, events, export, legacy state', async () => {
    const paths = [
      `${JOBS}`,
      `/api/v1/online/sessions/${job.system_id}`,
      `/api/systems/${job.system_id}/candidates`,
      `/api/systems/${job.system_id}/rollouts/r-big`,
      `/api/v1/online/sessions/${job.system_id}/events`,
      `${JOBS}/${job.job_id}/export?format=dspy`,
      `/api/prompt-learning/online/mipro/systems/${job.system_id}/state`,
    ];
    for (const path of paths) {
      const plain = await get(path);
      expect(plain.status, path).toBe(200);
      expect(plain.body.length, path).toBeGreaterThan(GZIP_MIN_BYTES);
      const zipped = await get(path, { 'accept-encoding': 'gzip' });
      expect(zipped.status, path).toBe(200);
      expect(zipped.headers['content-encoding'], path).toBe('gzip');
      expect(zipped.headers.vary, path).toBe('accept-encoding');
      expect(gunzipSync(zipped.body).equals(plain.body), path).toBe(true);
    }
  });

  it('sends a small answer plain, without vary, and keeps an error\'s status and body', async () => {
    const small = await get(`/api/v1/online/sessions/${job.system_id}/events?since_seq=1000000`, { 'accept-encoding': 'gzip' });
    expect(small.status).toBe(200);
    expect(small.body.length).toBeLessThan(GZIP_MIN_BYTES);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.headers.vary).toBeUndefined();
    expect(JSON.parse(small.body.toString())).toMatchObject({ events: [] });
    const missing = await get(`${JOBS}/pl_nope`, { 'accept-encoding': 'gzip' });
    expect(missing.status).toBe(404);
    expect(missing.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(missing.body.toString()).error.code).toBe('not_found');
  });

  it('never compresses the proxy (JSON or SSE), /metrics or /healthz, even for a client that accepts gzip', async () => {
    const body = (stream: boolean) => JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], stream });
    const headers = { 'content-type': 'application/json', 'accept-encoding': 'gzip' };
    const json = await raw(t.url, `/api/mipro/v1/${job.system_id}/chat/completions`, { method: 'POST', headers, body: body(false) });
    expect(json.status).toBe(200);
    expect(json.body.length).toBeGreaterThan(GZIP_MIN_BYTES);
    expect(json.headers['content-encoding']).toBeUndefined();
    expect(json.headers.vary).toBeUndefined();
    expect(JSON.parse(json.body.toString()).choices[0].message.content).toBe(REPLY);
    const sse = await raw(t.url, `/api/mipro/v1/${job.system_id}/v1/chat/completions`, { method: 'POST', headers, body: body(true) });
    expect(sse.status).toBe(200);
    expect(sse.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(sse.body.length).toBeGreaterThan(GZIP_MIN_BYTES);
    expect(sse.headers['content-encoding']).toBeUndefined();
    expect(sse.body.toString()).toContain('data: [DONE]');
    const models = await raw(t.url, `/api/mipro/v1/${job.system_id}/v1/models`, { headers: { 'accept-encoding': 'gzip' } });
    expect(models.status).toBe(200);
    expect(models.headers['content-encoding']).toBeUndefined();
    const metrics = await raw(t.url, '/metrics', { headers: { 'accept-encoding': 'gzip' } });
    expect(metrics.status).toBe(200);
    expect(metrics.body.length).toBeGreaterThan(GZIP_MIN_BYTES);
    expect(metrics.headers['content-encoding']).toBeUndefined();
    expect(metrics.body.toString()).toContain('# HELP');
    await t.server.settled();
  });

  it('is read by fetch (as the SDK and the dashboard use it) like the plain answer', async () => {
    const viaFetch = await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key });
    expect(viaFetch.headers.get('content-encoding')).toBe('gzip');
    expect(viaFetch.body).toEqual(JSON.parse((await get(`${JOBS}/${job.job_id}`)).body.toString()));
  });
});
