import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/main.js';
import { type TestServer, api, seedJobBody, simJobBody, startTestServer } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/** Issue 14, item 11: content types, methods, the seeded key, and the origin of handed-out URLs. */
const JOBS = '/api/policy-optimization/online/jobs';

/** A raw HTTP request, so headers (Host, a missing content type) are exactly as written. */
function raw(url: string, opts: { method: string; path: string; headers: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: opts.method, path: opts.path, headers: opts.headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('request hygiene', () => {
  let t: TestServer;
  useTestServer({ env: { OPENAI_API_KEY: 'sk-test-unused' } }, (s) => (t = s));

  it('answers a body without a JSON content type with the documented 415, on control and proxy routes', async () => {
    const body = JSON.stringify(seedJobBody());
    const auth = { authorization: `Bearer ${t.key}` };
    const plain = await raw(t.url, { method: 'POST', path: JOBS, headers: { ...auth, 'content-type': 'text/plain' }, body });
    expect(plain.status).toBe(415);
    expect(plain.body.error.code).toBe('unsupported_media_type');
    const missing = await raw(t.url, { method: 'POST', path: JOBS, headers: { ...auth, 'content-length': String(Buffer.byteLength(body)) }, body });
    expect(missing.status).toBe(415);
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() })).body;
    const proxied = await raw(t.url, { method: 'POST', path: `/api/mipro/v1/${job.system_id}/chat/completions`, headers: { 'content-type': 'text/plain' }, body: '{"messages":[]}' });
    expect(proxied.status).toBe(415);
    expect(proxied.body.error.code).toBe('unsupported_media_type');
    // A bodiless POST needs no content type.
    const pause = await raw(t.url, { method: 'POST', path: `${JOBS}/${job.job_id}/pause`, headers: auth });
    expect(pause.status).toBe(200);
  });

  it('refuses a compressed or otherwise encoded body with a 415 naming content-encoding, and writes nothing', async () => {
    const body = JSON.stringify(seedJobBody());
    const headers = { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' };
    const jobs = async () => (await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length;
    const before = await jobs();
    const gzip = gzipSync(body);
    // A gzip body was read as JSON and refused as malformed; an unknown coding was ignored and the job created.
    for (const [encoding, payload] of [['gzip', gzip], ['deflate', gzip], ['br-lol', body], ['GZIP', body]] as const) {
      const res = await raw(t.url, { method: 'POST', path: JOBS, headers: { ...headers, 'content-encoding': encoding, 'content-length': String(Buffer.byteLength(payload)) }, body: payload });
      expect(res.status, encoding).toBe(415);
      expect(res.body.error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringMatching(new RegExp(`^content-encoding ${encoding.toLowerCase()} is not accepted: send the body uncompressed`)) });
    }
    expect(await jobs()).toBe(before);
    // The proxy answers it in OpenAI's shape, before looking at the system.
    const proxied = await raw(t.url, { method: 'POST', path: '/api/mipro/v1/sys_x/chat/completions', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(gzip.length) }, body: gzip });
    expect(proxied.status).toBe(415);
    expect(proxied.body.error).toMatchObject({ code: 'unsupported_media_type', type: 'invalid_request_error', message: expect.stringMatching(/content-encoding gzip/) });
    // identity is no encoding.
    const identity = await raw(t.url, { method: 'POST', path: JOBS, headers: { ...headers, 'content-encoding': 'identity', 'content-length': String(Buffer.byteLength(body)) }, body });
    expect(identity.status).toBe(200);
  });

  it('answers a GET with a body with a 400 that says GET takes none, not a 415 asking for JSON', async () => {
    const res = await raw(t.url, { method: 'GET', path: JOBS, headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json', 'content-length': '8' }, body: '{"a": 1}' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'bad_request', message: 'a GET request takes no body: send its parameters in the query string' });
    // An empty body with the header (clients that set it on every request) is no body.
    const empty = await raw(t.url, { method: 'GET', path: JOBS, headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json', 'content-length': '0' } });
    expect(empty.status).toBe(200);
  });

  it('answers a known path with the wrong method with 405 and Allow, and unknown paths with 404', async () => {
    const del = await api(t.url, 'DELETE', JOBS, { key: t.key });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(del.body.error.code).toBe('method_not_allowed');
    const put = await api(t.url, 'PUT', `${JOBS}/pl_0123`, { key: t.key, body: {} });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
    const proxyGet = await api(t.url, 'GET', '/api/mipro/v1/sys_x/chat/completions');
    expect(proxyGet.status).toBe(405);
    expect(proxyGet.body.error).toMatchObject({ code: 'method_not_allowed', type: 'invalid_request_error' });
    expect((await api(t.url, 'GET', '/api/nope', { key: t.key })).status).toBe(404);
    // A client that sends `content-type: application/json` on every request, with no body: the wrong
    // method is still a 405 (and an unknown path a 404), not a 400 about the empty body.
    const json = { 'content-type': 'application/json' };
    const emptyPut = await raw(t.url, { method: 'PUT', path: `${JOBS}/pl_0123`, headers: { authorization: `Bearer ${t.key}`, ...json } });
    expect([emptyPut.status, emptyPut.body.error.code]).toEqual([405, 'method_not_allowed']);
    // DELETE takes no body: an empty one sent with the JSON content type is none (the job is unknown), not a 400.
    const emptyDel = await raw(t.url, { method: 'DELETE', path: `${JOBS}/pl_0123`, headers: { authorization: `Bearer ${t.key}`, ...json } });
    expect([emptyDel.status, emptyDel.body.error.code]).toEqual([404, 'not_found']);
    const emptyExport = await raw(t.url, { method: 'POST', path: `${JOBS}/pl_0123/export`, headers: { authorization: `Bearer ${t.key}`, ...json } });
    expect(emptyExport.status).toBe(405);
    const emptyNope = await raw(t.url, { method: 'POST', path: '/api/nope', headers: { authorization: `Bearer ${t.key}`, ...json } });
    expect(emptyNope.status).toBe(404);
    // On a route that exists, the empty body is still the 400 it was.
    const emptyCreate = await raw(t.url, { method: 'POST', path: JOBS, headers: { authorization: `Bearer ${t.key}`, ...json } });
    expect(emptyCreate.status).toBe(400);
  });

  it('hands out proxy URLs for the address the server was reached at, never a Host header', async () => {
    const res = await raw(t.url, {
      method: 'POST', path: JOBS,
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json', host: 'evil.example.com' },
      body: JSON.stringify(seedJobBody()),
    });
    expect(res.status).toBe(200);
    expect(res.body.proxy_url).toBe(`${t.url}/api/mipro/v1/${res.body.system_id}`);
    const withPublic = await startTestServer({ env: { PUBLIC_URL: 'https://miprox.example.org/', OPENAI_API_KEY: 'sk-test-unused' } });
    try {
      const job = (await api(withPublic.url, 'POST', JOBS, { key: withPublic.key, body: seedJobBody() })).body;
      expect(job.proxy_url).toBe(`https://miprox.example.org/api/mipro/v1/${job.system_id}`);
    } finally {
      await withPublic.close();
    }
  });

  it('rotates MIPROX_API_KEY: a new key (even one sharing its first 12 characters with the revoked one) starts and keeps the jobs', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-seed-')), 'miprox.db');
    const start = (key: string) => startServer(loadConfig({ PORT: '0', DATABASE_URL: file, LOG_LEVEL: 'silent', MIPROX_API_KEY: key }), { logger: pino({ level: 'silent' }) });
    const oldKey = 'team-shared-key-0001';
    const newKey = 'team-shared-key-0002';
    const first = await start(oldKey);
    const job = (await api(first.url, 'POST', JOBS, { key: oldKey, body: simJobBody() })).body;
    const seeded = (await first.store.listApiKeys()).find((k) => k.name === 'MIPROX_API_KEY')!;
    expect(await first.store.revokeApiKey(seeded.id)).toBe(true);
    await first.close();

    await expect(start(oldKey)).rejects.toThrow(/MIPROX_API_KEY names a revoked key/);
    const second = await start(newKey);
    try {
      // The rotated key is the same user's: the jobs made with the old one are still theirs.
      const listed = await api(second.url, 'GET', JOBS, { key: newKey });
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([job.job_id]);
      expect((await api(second.url, 'GET', `${JOBS}/${job.job_id}`, { key: newKey })).status).toBe(200);
      expect((await api(second.url, 'GET', JOBS, { key: oldKey })).status).toBe(401);
      // Both keys belong to the one tenant.
      const keys = await second.store.listApiKeys();
      expect(new Set(keys.map((k) => k.tenantId))).toEqual(new Set([seeded.tenantId]));
    } finally {
      await second.close();
    }
  });
});
