import type { FastifyInstance } from 'fastify';

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
 * that routes marked `bodyOptional` take an empty body as no body. Elsewhere an empty JSON body stays
 * a 400: a job without a config is a client bug worth naming.
 */
export function acceptEmptyJsonWhereNoBodyIsNeeded(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (req.routeOptions.config.bodyOptional === true && text.trim() === '') {
      done(null, undefined);
      return;
    }
    json(req, text, done);
  });
}
