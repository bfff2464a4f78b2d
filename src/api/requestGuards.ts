import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BadRequestError, MethodNotAllowedError, NotFoundError, UnsupportedMediaTypeError, ValidationError } from '../shared/errors.js';
import { JSON_ONLY } from './errorMapping.js';
import { hasNul, NUL_MESSAGE } from '../schemas/dbText.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './jsonDepth.js';

/**
 * Checks every request gets before a route sees it, whatever the route: no NUL in path parameters or
 * query values (a 500 on PostgreSQL only, see dbText.ts), the body is JSON (415
 * otherwise, as documented, not a 422 about an empty object), it is not nested absurdly deep (see
 * jsonDepth.ts), and a known path asked with the wrong method is a 405 with Allow, not a 404.
 * Returns the error for a request no route matched.
 */
export function installRequestGuards(app: FastifyInstance): (req: FastifyRequest) => Error {
  // Fastify parses text/plain by default; every body miprox reads is JSON.
  app.removeContentTypeParser('text/plain');
  app.addHook('preValidation', (req, _reply, done) => {
    const nul = nulInUrl(req);
    if (nul !== null) {
      done(new ValidationError('invalid request', [{ path: nul, message: NUL_MESSAGE }]));
      return;
    }
    if (req.body === undefined && hasBody(req) && !blankBodies.has(req.raw)) {
      const encoded = encodingRefusal(req);
      if (encoded !== null) {
        done(encoded);
        return;
      }
      // GET and HEAD bodies are never parsed: the problem is the body, not its type (a JSON one was
      // told to "send the body as JSON").
      done(BODILESS_METHODS.has(req.method)
        ? new BadRequestError(`a ${req.method} request takes no body: send its parameters in the query string`)
        : new UnsupportedMediaTypeError(JSON_ONLY));
      return;
    }
    // No body at all where one is needed: the 400 an empty body with the JSON header gets, not a 422
    // about fields of a body that was never sent (the same empty body got one or the other by header).
    if (req.body === undefined && !hasBody(req) && BODY_METHODS.has(req.method) && req.routeOptions.config.bodyOptional !== true) {
      const message = 'body is empty: this route needs a JSON body (content-type: application/json)';
      done(new BadRequestError(message, [{ path: '', message }]));
      return;
    }
    if (nestsDeeperThan(req.body, MAX_JSON_DEPTH)) {
      const message = `must not nest objects and arrays more than ${MAX_JSON_DEPTH} levels deep`;
      done(new ValidationError(`JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`, [{ path: '', message }]));
      return;
    }
    done();
  });

  const routes = new RouteMethods();
  app.addHook('onRoute', (route) => routes.add(route.method, route.url));
  return (req) => {
    const path = req.url.split('?')[0] ?? '';
    const allow = routes.allowed(path);
    if (allow.length > 0 && !allow.includes(req.method)) return new MethodNotAllowedError(`${req.method} is not allowed on ${path}; use ${allow.join(', ')}`, allow);
    return new NotFoundError(`no route for ${req.method} ${path}`);
  };
}

/**
 * Thrown by a catch-all route (the dashboard's page fallback) for a path it does not serve: the app
 * then answers as if no route had matched, a 405 when the path exists with other methods.
 */
export class NoRouteError extends NotFoundError {}

/**
 * The first path parameter or query value holding a NUL (ids are looked up as text: see dbText.ts),
 * named as the API names it (`rolloutId` in the route is `rollout_id` everywhere else).
 */
function nulInUrl(req: FastifyRequest): string | null {
  for (const source of [req.params, req.query]) {
    if (typeof source !== 'object' || source === null) continue;
    for (const [name, value] of Object.entries(source)) {
      const bad = typeof value === 'string' ? hasNul(value) : Array.isArray(value) && value.some((v) => typeof v === 'string' && hasNul(v));
      if (bad) return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    }
  }
  return null;
}

/**
 * Requests whose JSON body the parser took as none (blank, on a route that reads none: jsonBody.ts): a
 * body was sent, so without this mark the guard above answered 415 "send the body as JSON with
 * content-type: application/json" to a client that had (whitespace, or a chunked body with nothing in it).
 */
const blankBodies = new WeakSet<object>();

export function markBlankBody(req: FastifyRequest): void {
  blankBodies.add(req.raw);
}

const BODILESS_METHODS = new Set(['GET', 'HEAD']);
/** Methods whose routes read a body unless marked bodyOptional (jsonBody.ts NO_BODY). */
const BODY_METHODS = new Set(['POST', 'PATCH', 'PUT']);

/**
 * A body sent with a content coding (gzip, deflate, anything but identity) is refused before it is
 * parsed: a compressed body reached the JSON parser and was a 400 "malformed JSON", and a coding the
 * server does not know was ignored, the bytes read as if plain. Checked where a body is met (the JSON
 * parser, and the guard for a body no parser took), not in a hook every request pays for.
 */
export function encodingRefusal(req: FastifyRequest): UnsupportedMediaTypeError | null {
  const encoding = contentEncoding(req);
  return encoding === null ? null : new UnsupportedMediaTypeError(`content-encoding ${encoding} is not accepted: send the body uncompressed (no content-encoding header)`);
}

/** The request's content coding other than identity (lower-cased, as sent), or null. */
function contentEncoding(req: FastifyRequest): string | null {
  const raw = req.headers['content-encoding'];
  const value = (Array.isArray(raw) ? raw.join(', ') : raw ?? '').trim().toLowerCase();
  return value === '' || value === 'identity' ? null : value.slice(0, 64);
}

/** A body was sent (a length above zero, or chunked) even if no parser claimed it. */
function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * The methods each route pattern answers, to tell "wrong method" from "no such path". Catch-all
 * patterns (`/*`, the dashboard's page fallback) are left out: they would make every path "exist".
 */
class RouteMethods {
  private readonly byUrl = new Map<string, Set<string>>();
  private compiled: Array<{ pattern: RegExp; methods: Set<string> }> | null = null;

  add(method: string | string[], url: string): void {
    if (url.includes('*')) return;
    let set = this.byUrl.get(url);
    if (!set) this.byUrl.set(url, (set = new Set()));
    for (const m of Array.isArray(method) ? method : [method]) set.add(m);
    this.compiled = null;
  }

  allowed(path: string): string[] {
    this.compiled ??= [...this.byUrl].map(([url, methods]) => ({ pattern: compile(url), methods }));
    const out = new Set<string>();
    for (const r of this.compiled) if (r.pattern.test(path)) for (const m of r.methods) out.add(m);
    return [...out].sort();
  }
}

/** `/api/jobs/:jobId` -> /^\/api\/jobs\/[^/]+\/?$/ (the router ignores a trailing slash). */
function compile(url: string): RegExp {
  const segments = url.replace(/\/+$/, '').split('/').map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${segments.join('/')}/?$`);
}
