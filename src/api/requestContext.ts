import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../shared/errors.js';
import { zodProblems } from '../schemas/jobRequest.js';

/** The origin clients reached us at, for proxy URLs: PUBLIC_URL wins, else the request's host. */
export function requestOrigin(req: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  return `${req.protocol}://${req.host}`;
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
