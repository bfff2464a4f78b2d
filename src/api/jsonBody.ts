import type { FastifyInstance } from 'fastify';
import { BadRequestError, UnsupportedMediaTypeError, ValidationError } from '../shared/errors.js';
import { JSON_ONLY } from './errorMapping.js';
import { nonFiniteNumberIn } from './nonFiniteNumber.js';
import { encodingRefusal, markBlankBody } from './requestGuards.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route reads no body: an empty one is fine even with `content-type: application/json`
     * (clients that set the header globally send it on `POST .../pause`).
     */
    bodyOptional?: boolean;
  }
}

/** Route options for a POST that needs no body. */
export const NO_BODY = { config: { bodyOptional: true } } as const;

/**
 * Replaces fastify's JSON parser with the same parser (same prototype-poisoning protection), except
 * that routes marked `bodyOptional` take an empty body as no body (elsewhere an empty JSON body stays
 * a 400: a job without a config is a client bug worth naming), and that a valid JSON body refused for
 * a `__proto__` key (or a `constructor` holding `prototype`) is a 422 naming that key, not "not valid
 * JSON": such a key could rewrite an object's prototype, so it is refused wherever it appears. A body
 * malformed by a NaN or Infinity value (Python's json.dumps default) is a 400 naming that value's field.
 */
export function parseJsonBodies(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const encoded = encodingRefusal(req);
    if (encoded !== null) {
      done(encoded, undefined);
      return;
    }
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (req.routeOptions.config.bodyOptional === true && text.trim() === '') {
      markBlankBody(req);
      done(null, undefined);
      return;
    }
    json(req, text, (err: Error | null, parsed?: unknown) => {
      const refused = err ? refusedKeyPath(text) : null;
      const nonFinite = err && refused === null ? nonFiniteNumberIn(text) : null;
      if (nonFinite !== null) {
        done(nonFiniteRefusal(nonFinite.path, nonFinite.literal), undefined);
        return;
      }
      if (refused === null) {
        done(err, parsed);
        return;
      }
      const message = 'is refused: a key that could rewrite an object\'s prototype (rename it)';
      done(new ValidationError(`the body holds a refused key at ${refused || '(body)'}`, [{ path: refused, message }]), undefined);
    });
  });
}

/**
 * Every other content type: an empty body on a route that reads none is no body (`curl -X POST
 * .../cancel -d ''` sends `application/x-www-form-urlencoded` with nothing in it, and was told to send
 * JSON); any other body is the 415 it was (JSON only).
 */
export function refuseOtherBodies(app: FastifyInstance): void {
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    const encoded = encodingRefusal(req);
    if (encoded !== null) {
      done(encoded, undefined);
      return;
    }
    if (req.routeOptions.config.bodyOptional === true && body.length === 0) {
      markBlankBody(req);
      done(null, undefined);
      return;
    }
    done(new UnsupportedMediaTypeError(JSON_ONLY), undefined);
  });
}

/**
 * Malformed JSON still (a 400, as any), but naming the field: Python's json.dumps writes NaN and
 * Infinity for non-finite floats by default, and "not valid JSON" does not say which value was one.
 */
function nonFiniteRefusal(path: string, literal: string): BadRequestError {
  const message = `is ${literal}, which JSON does not have: send a finite number (Python's json.dumps writes float('nan') and float('inf') as NaN and Infinity; json.dumps(..., allow_nan=False) raises on them instead)`;
  return new BadRequestError(`malformed JSON body: ${path || 'the body'} ${message}`, [{ path, message }]);
}

/** The dotted path of the first `__proto__` or `constructor.prototype` key of a valid JSON text, or null. */
function refusedKeyPath(text: string): string | null {
  let root: unknown;
  try {
    // fastify's parser drops a leading byte order mark before it refuses the key: so does this.
    root = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return null;
  }
  // Iterative: a deeply nested body must not overflow the stack on the error path.
  const stack: Array<{ node: unknown; path: string }> = [{ node: root, path: '' }];
  while (stack.length > 0) {
    const { node, path } = stack.pop() as { node: unknown; path: string };
    if (typeof node !== 'object' || node === null) continue;
    const at = (key: string): string => (path === '' ? key : `${path}.${key}`);
    if (!Array.isArray(node)) {
      if (Object.hasOwn(node, '__proto__')) return at('__proto__');
      const ctor = (node as Record<string, unknown>)['constructor'];
      if (Object.hasOwn(node, 'constructor') && typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) return at('constructor.prototype');
    }
    for (const [key, child] of Object.entries(node)) stack.push({ node: child, path: at(key) });
  }
  return null;
}
