import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawAnswer, rawRequest } from '../helpers/rawRequest.js';
import { type DashboardTestServer, startDashboardTestServer } from './dashboardServer.js';

/**
 * How the dashboard's files are negotiated over real HTTP (RFC 9110): `accept-encoding` weights, with
 * `q=0` meaning "not acceptable", and `If-None-Match: *`, which matches any current representation.
 * node:http rather than fetch, which would decompress and add an accept-encoding of its own.
 */
const get = (base: string, path: string, headers: Record<string, string> = {}) => rawRequest(base, path, { headers });

describe('dashboard assets: content negotiation', () => {
  let d: DashboardTestServer;
  let plain: RawAnswer;
  beforeAll(async () => {
    d = await startDashboardTestServer();
    plain = await get(d.url, '/app.js');
  });
  afterAll(async () => d?.close());

  it('sends identity when gzip is refused with q=0 (alone, spaced, any case, or under a refused *)', async () => {
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    for (const ae of ['gzip;q=0', 'gzip; q=0', 'GZIP;Q=0.000', 'br, gzip;q=0', 'br, gzip;q=0, *;q=1', '*;q=0', 'identity', 'deflate, br']) {
      const res = await get(d.url, '/app.js', { 'accept-encoding': ae });
      expect(res.status, ae).toBe(200);
      expect(res.headers['content-encoding'], ae).toBeUndefined();
      expect(res.body.equals(plain.body), ae).toBe(true);
    }
  });

  it('sends gzip when gzip is acceptable: listed without a weight, with a weight above 0, or through *', async () => {
    for (const ae of ['gzip', 'gzip, deflate, br, zstd', 'gzip;q=0.5', 'gzip;q=0.001', 'identity;q=0.1, gzip', 'x-gzip', '*', 'br;q=0, *']) {
      const res = await get(d.url, '/app.js', { 'accept-encoding': ae });
      expect(res.headers['content-encoding'], ae).toBe('gzip');
      expect(gunzipSync(res.body).equals(plain.body), ae).toBe(true);
    }
  });

  it('answers If-None-Match: * with 304 for an existing asset (RFC 9110 13.1.2), and a stale tag with 200', async () => {
    for (const path of ['/', '/app.js', '/app.css']) {
      const star = await get(d.url, path, { 'if-none-match': '*' });
      expect(star.status, path).toBe(304);
      expect(star.body.length, path).toBe(0);
      expect((await get(d.url, path, { 'if-none-match': '"0000000000000000"' })).status, path).toBe(200);
    }
    const etag = String(plain.headers.etag);
    expect((await get(d.url, '/app.js', { 'if-none-match': `"stale", W/${etag}` })).status).toBe(304);
  });
});
