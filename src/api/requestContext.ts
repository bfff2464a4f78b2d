import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { type FieldProblem, ValidationError } from '../shared/errors.js';
import { zodProblems } from '../schemas/jobRequest.js';
import { CorrelationIdSchema } from '../schemas/reward.js';
import { unknownFieldProblems } from '../schemas/unknownFields.js';
import { integerQuery } from '../schemas/integerText.js';

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

/**
 * parseWith for a body whose fields also name things of the job (a candidate, a module), which the
 * service checks once the body is well-formed. When the schema refuses the body, `namesNothing` looks
 * at the raw body for such names too, so the 422 lists every bad field at once (SPEC.md), not the
 * schema's problems first and the unknown name only after the client fixed those.
 */
export async function parseWithNames<S extends z.ZodType>(
  schema: S, value: unknown, namesNothing: (raw: Record<string, unknown>) => Promise<FieldProblem[]>,
): Promise<z.infer<S>> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const problems = zodProblems(r.error, '');
  const raw = typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {};
  const more = (await namesNothing(raw)).filter((p) => !problems.some((q) => q.path === p.path));
  throw new ValidationError('invalid request', [...problems, ...more], r.error.issues.length + more.length);
}

/**
 * parseWith for a body whose objects are closed, or a list route's query string: a key the schema
 * does not declare is a problem naming it and the nearest known name (unknownFields.ts), listed with
 * the schema's own problems. A query parameter read by no one would otherwise answer as if it had
 * been honoured (a misspelt filter or sort gives an unfiltered, unsorted page).
 */
export function parseClosed<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const unknown = unknownFieldProblems(schema, value ?? {});
  const r = schema.safeParse(value ?? {});
  const problems = [...unknown, ...(r.success ? [] : zodProblems(r.error, ''))];
  if (problems.length > 0 || !r.success) throw new ValidationError('invalid request', problems);
  return r.data;
}

/**
 * A correlation id sent beside a proxied call (query or header) or asked for in the session's prompt
 * URLs: an empty one is none; any other must be one a reward's `correlation_id` can name (its schema),
 * else a 422 on `correlation_id` before anything is recorded. A query parameter given twice arrives
 * as an array: no one id (stored, it failed the rollout's insert with a 500).
 */
export function correlationIdParam(raw: unknown): string | null {
  if (raw === undefined || raw === '') return null;
  if (Array.isArray(raw)) throw new ValidationError('invalid request', [givenMoreThanOnce('correlation_id', raw.length)]);
  return parseWith(CorrelationIdSchema, raw, 'correlation_id');
}

/** A query parameter sent several times (`?status=running&status=paused`): no one value to read. */
function givenMoreThanOnce(name: string, times: number): FieldProblem {
  return { path: name, message: `is given ${times} times: send it once` };
}

/**
 * parseClosed for a route's query string. A parameter given more than once arrives as an array,
 * which the schema answered in words that did not say so ("must be one of: json, messages, dspy" for
 * `?format=json&format=dspy`, "must be a string, got array"): each such parameter is one problem
 * saying it was repeated, listed with the rest of the query's problems.
 */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const entries = typeof query === 'object' && query !== null ? Object.entries(query) : [];
  const repeated = entries.filter(([, v]) => Array.isArray(v)).map(([k, v]) => givenMoreThanOnce(k, (v as unknown[]).length));
  if (repeated.length === 0) return parseClosed(schema, query);
  let rest: FieldProblem[] = [];
  try {
    parseClosed(schema, Object.fromEntries(entries.filter(([, v]) => !Array.isArray(v))));
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // A repeated parameter left out of this parse is not also "required": it was sent.
    rest = err.details.filter((d) => !repeated.some((r) => r.path === d.path));
  }
  throw new ValidationError('invalid request', [...repeated, ...rest]);
}

export const PageQuerySchema = z.object({
  limit: integerQuery(1, 1000).default(50),
  cursor: z.string().max(500).optional(),
});
