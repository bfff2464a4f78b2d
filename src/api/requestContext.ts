import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../shared/errors.js';
import { zodProblems } from '../schemas/jobRequest.js';

/**
 * The origin for the proxy URLs handed out: PUBLIC_URL when set, else the address the connection
 * actually arrived at. Not the Host header: any client can write any Host, and the URLs (which
 * carry the system id, a credential) would then point wherever it said. Behind a reverse proxy or
 * to hand out a host name, set PUBLIC_URL.
 */
export function requestOrigin(req: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  const { localAddress, localPort } = req.socket;
  // In-process requests (fastify.inject) have no socket address; the Host there is the caller's own.
  if (!localAddress || !localPort) return `${req.protocol}://${req.host}`;
  const address = localAddress.replace(/^::ffff:/, '');
  return `${req.protocol}://${address.includes(':') ? `[${address}]` : address}:${localPort}`;
}

/** Parses a query string or small body with a zod schema; every problem is a 422 with its path. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new ValidationError('invalid request', zodProblems(r.error, prefix), r.error.issues.length);
  return r.data;
}

export const PageQuerySchema = z.object({
  limit: z.coerce.number({ error: 'must be an integer' }).int('must be an integer').min(1, 'must be >= 1').max(1000, 'must be <= 1000').default(50),
  cursor: z.string().max(500).optional(),
});
