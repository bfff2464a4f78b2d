import type { FastifyRequest } from 'fastify';
import { correlationIdParam } from '../api/requestContext.js';
import { ValidationError } from '../shared/errors.js';

const HEADER = 'x-mipro-correlation-id';

/**
 * A proxied call's correlation id: `?cid=`, `?correlation_id=` or the `x-mipro-correlation-id`
 * header ('' is none). Given two ways that disagree, or in the header twice, it is a 422 on
 * `correlation_id`, as a query parameter given twice is: Node joins a repeated header into one value
 * ("a, b"), and that value (or whichever source was read first) tagged the rollout for good, so a
 * reward naming the id the app meant missed it (404).
 */
export function correlationOf(req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>): string | null {
  const sources: Array<[string, unknown]> = [];
  const cid = given(req.query.cid);
  if (cid !== undefined) sources.push(['?cid=', cid]);
  const named = given(req.query.correlation_id);
  if (named !== undefined) sources.push(['?correlation_id=', named]);
  const header = req.headers[HEADER];
  if (typeof header === 'string' && header.length > 0) sources.push([HEADER, headerText(oneHeader(req, header))]);
  const first = sources[0];
  if (first === undefined) return null;
  // Each way is read as an id first: a query parameter given twice (an array) is its own 422 wherever
  // it is, not a value passed over because another way came first.
  for (const source of sources) source[1] = correlationIdParam(source[1]);
  const other = sources.find(([, value]) => value !== first[1]);
  if (other !== undefined) {
    const message = `is sent two ways that disagree (${first[0]} ${JSON.stringify(first[1])}, ${other[0]} ${JSON.stringify(other[1])}): send one correlation id`;
    throw new ValidationError('invalid request', [{ path: 'correlation_id', message }]);
  }
  return first[1] as string;
}

/** A query value that says something ('' is none). */
function given(v: unknown): unknown {
  return v === undefined || v === '' ? undefined : v;
}

/** The header's value when it came once; a 422 when it came more than once (even with one value twice). */
function oneHeader(req: FastifyRequest, joined: string): string {
  // Cheap first: one line never holds ", " unless its id does; only then are the raw lines counted.
  if (!joined.includes(',')) return joined;
  const raw = req.raw.rawHeaders;
  let lines = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === HEADER) lines += 1;
  if (lines < 2) return joined;
  const message = `the ${HEADER} header is sent ${lines} times (joined: ${JSON.stringify(joined.slice(0, 80))}): send it once`;
  throw new ValidationError('invalid request', [{ path: 'correlation_id', message }]);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header's value as the text the client meant. Node reads header bytes as Latin-1, so an id that a
 * client sent as UTF-8 bytes (Go's net/http, curl) was stored as mojibake ("café" as "cafÃ©") and a
 * reward naming it (JSON, UTF-8) missed the rollout. Bytes that form UTF-8 are read so; others stay
 * Latin-1 (what Node's fetch and Python's requests send for such characters). Latin-1 text that
 * happens to be valid UTF-8 needs two or more accented symbols in a row ("Ã©"): no real id.
 */
function headerText(value: string): string {
  if (!/[\u0080-\u00ff]/.test(value)) return value;
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}
