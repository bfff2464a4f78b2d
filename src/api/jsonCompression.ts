import { gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import { acceptsGzip } from './acceptEncoding.js';
import { isProxyPath } from './errorMapping.js';

/**
 * Gzip for the control API's JSON answers. The dashboard polls a job's view every 2 s, and with a few
 * hundred candidates that view is ~340 KB of JSON: sent as it was, an open tab cost ~170 KB/s. JSON
 * this repetitive (the same keys in every candidate) shrinks ~14x even at gzip's fastest level.
 *
 * Only routes under /api that are not the proxy get the hook (so the proxy's hot path has no extra
 * hook at all): the proxy passes provider answers and SSE streams through, is benchmarked byte for
 * byte and for latency, and provider clients negotiate encodings their own way. /metrics, /healthz,
 * /readyz and the dashboard's assets (gzipped ahead, dashboardRoutes.ts) are outside /api.
 */

/** Below this an answer goes as it is: gzip's header and the CPU are not worth it for a few hundred bytes. */
export const GZIP_MIN_BYTES = 1024;

/**
 * zlib's fastest level. Measured on a job view of 551 candidates (371 KB): level 1 takes ~0.5 ms and
 * gives 26 KB (14x smaller); the default, 6, ~2.2 ms for 24.6 KB (15x); 9, ~3 ms for no more. The
 * work runs on libuv's thread pool, not on the event loop the proxy's calls share.
 */
export const GZIP_LEVEL = 1;

/** Whether a route's answers may be compressed: the control API under /api, never the proxy. */
export function compressesRoute(url: string): boolean {
  return url.startsWith('/api/') && !isProxyPath(url);
}

/** Adds the hook to every control route registered after this call (so call it before any route). */
export function installJsonCompression(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!compressesRoute(route.url)) return;
    const own = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? [...route.onSend] : [route.onSend];
    // The HEAD route Fastify adds for a GET ends with its own hook, which drops the body and sets
    // content-length from it: compress before it, so a HEAD announces the headers the GET sends.
    own.splice(route.method === 'HEAD' && own.length > 0 ? own.length - 1 : own.length, 0, compressJson as onSendHookHandler);
    route.onSend = own;
  });
}

function compressJson(req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, value?: unknown) => void): void {
  // Strings and buffers are whole answers; a stream (none on these routes today) or no body goes as it is.
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return done(null, payload);
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (size < GZIP_MIN_BYTES || !isJson(reply.getHeader('content-type')) || reply.hasHeader('content-encoding')) {
    return done(null, payload);
  }
  // The representation depends on accept-encoding from here on, whichever one this client gets:
  // a cache in between must not hand a gzipped answer to a client that did not ask for it.
  addVary(reply);
  if (!acceptsGzip(req.headers['accept-encoding'])) return done(null, payload);
  gzip(payload, { level: GZIP_LEVEL }, (err, zipped) => {
    // Never worth failing an answer for: it goes uncompressed (vary is right either way).
    if (err) return done(null, payload);
    // Fastify sets content-length from the payload after onSend; a length set earlier would be wrong.
    reply.removeHeader('content-length');
    reply.header('content-encoding', 'gzip');
    done(null, zipped);
  });
}

function isJson(type: unknown): boolean {
  return typeof type === 'string' && /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type);
}

function addVary(reply: FastifyReply): void {
  const current = reply.getHeader('vary');
  const values = (Array.isArray(current) ? current.join(',') : current === undefined ? '' : String(current))
    .split(',').map((v) => v.trim()).filter((v) => v !== '');
  if (values.some((v) => v === '*' || v.toLowerCase() === 'accept-encoding')) return;
  reply.header('vary', [...values, 'accept-encoding'].join(', '));
}
