import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDashboardRoutes } from '../../src/api/dashboardRoutes.js';
import { sendError } from '../../src/api/errorMapping.js';
import { silentLogger } from '../../src/shared/logger.js';

const REPO = resolve(import.meta.dirname, '../..');

/** The dashboard routes on a bare app with the real error mapping, served from `root`. */
async function appFor(root: string): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler((err, req, reply) => sendError(err, req, reply, silentLogger));
  registerDashboardRoutes(app, { log: silentLogger }, { root });
  await app.ready();
  return app;
}

/** A package root with web/src linked from the repo and no web/dist: what a fresh checkout looks like. */
function checkoutWithoutDist(): string {
  const root = mkdtempSync(join(tmpdir(), 'miprox-web-'));
  mkdirSync(join(root, 'web'));
  mkdirSync(join(root, 'scripts'));
  symlinkSync(join(REPO, 'web/src'), join(root, 'web/src'));
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  cpSync(join(REPO, 'web/index.html'), join(root, 'web/index.html'));
  cpSync(join(REPO, 'scripts/build-web.mjs'), join(root, 'scripts/build-web.mjs'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  return root;
}

describe('dashboard routes', () => {
  let root: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    root = checkoutWithoutDist();
    app = await appFor(root);
  });
  afterAll(async () => {
    await app?.close();
    if (root) rmSync(root, { recursive: true, force: true }); // removes the links, not what they point to
  });

  it('bundles in memory on first request when web/dist is missing, without writing it', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toMatch(/<script type="module" src="\/app\.js\?v=[0-9a-f]{16}"><\/script>/);
    expect(existsSync(join(root, 'web/dist'))).toBe(false);
  });

  it('serves app.js and app.css with their types; cached forever only under their current hash', async () => {
    const html = (await app.inject({ method: 'GET', url: '/' })).body;
    const js = /\/app\.js\?v=([0-9a-f]+)/.exec(html)?.[1];
    const css = /\/app\.css\?v=([0-9a-f]+)/.exec(html)?.[1];
    const versioned = await app.inject({ method: 'GET', url: `/app.js?v=${js}` });
    expect(versioned.statusCode).toBe(200);
    expect(versioned.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(versioned.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(versioned.headers.etag).toBe(`"${js}"`);
    const cssRes = await app.inject({ method: 'GET', url: `/app.css?v=${css}` });
    expect(cssRes.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(cssRes.body).toContain('.u-legend'); // uPlot's stylesheet is bundled, not fetched from a CDN
    for (const url of ['/app.js', '/app.js?v=old', '/']) {
      expect((await app.inject({ method: 'GET', url })).headers['cache-control']).toBe('no-cache');
    }
    const again = await app.inject({ method: 'GET', url: '/app.js', headers: { 'if-none-match': `"${js}"` } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('compresses for clients that accept gzip', async () => {
    const plain = await app.inject({ method: 'GET', url: '/app.js' });
    const zipped = await app.inject({ method: 'GET', url: '/app.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('accept-encoding');
    expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length / 2);
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(plain.body);
  });

  it('sends a strict content security policy: nothing but this origin', async () => {
    const res = await app.inject({ method: 'GET', url: '/' });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('answers other page paths with index.html, but keeps server paths and file misses 404 JSON', async () => {
    for (const url of ['/jobs', '/jobs/pl_123', '/index.html', '/some/deep/path?x=1']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toBe('text/html; charset=utf-8');
    }
    for (const url of ['/api', '/api/nope', '/api/policy-optimization/online/unknown', '/healthz/x', '/metrics/x', '/readyz/', '/favicon.ico', '/app.map']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ error: { code: 'not_found' } });
    }
    expect((await app.inject({ method: 'POST', url: '/jobs' })).statusCode).toBe(404);
  });

  it('serves web/dist when it is newer than the sources, and rebuilds in memory when it is older', async () => {
    const dist = join(root, 'web/dist');
    mkdirSync(dist, { recursive: true });
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>prebuilt</title>');
    writeFileSync(join(dist, 'app.js'), 'console.log("prebuilt")');
    writeFileSync(join(dist, 'app.css'), 'body{}');
    const fresh = await appFor(root);
    expect((await fresh.inject({ method: 'GET', url: '/' })).body).toContain('prebuilt');
    await fresh.close();

    const old = new Date(Date.now() - 365 * 86_400_000);
    for (const f of ['index.html', 'app.js', 'app.css']) utimesSync(join(dist, f), old, old);
    const stale = await appFor(root);
    const res = await stale.inject({ method: 'GET', url: '/' });
    expect(res.body).not.toContain('prebuilt');
    expect(res.body).toContain('/app.js?v=');
    await stale.close();
  });
});
