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
  // Runs on every proxied call, most of which send no id: nothing is allocated for one that sends none.
  // Each way given is read as an id first (correlationIdParam: '' is none, a query parameter given
  // twice is its own 422 wherever it is), then they must agree.
  const raw = req.headers[HEADER];
  const sent = typeof raw === 'string' && raw.length > 0 ? headerText(oneHeader(req, raw)) : undefined;
  const cid = correlationIdParam(req.query.cid);
  const named = correlationIdParam(req.query.correlation_id);
  const header = correlationIdParam(sent);
  if (cid !== null) {
    agree('?cid=', cid, '?correlation_id=', named);
    agree('?cid=', cid, HEADER, header);
  } else if (named !== null) agree('?correlation_id=', named, HEADER, header);
  return cid ?? named ?? header;
}

/** A 422 when a second way gave an id other than the first way's. */
function agree(firstWay: string, first: string, otherWay: string, other: string | null): void {
  if (other === null || other === first) return;
  const message = `is sent two ways that disagree (${firstWay} ${JSON.stringify(first)}, ${otherWay} ${JSON.stringify(other)}): send one correlation id`;
  throw new ValidationError('invalid request', [{ path: 'correlation_id', message }]);
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
/** Module-level: a regex literal in the function is a new object on every call that sends the header. */
const NOT_ASCII = /[\u0080-\u00ff]/;

/**
 * A header's value as the text the client meant. Node reads header bytes as Latin-1, so an id that a
 * client sent as UTF-8 bytes (Go's net/http, curl) was stored as mojibake ("café" as "cafÃ©") and a
 * reward naming it (JSON, UTF-8) missed the rollout. Bytes that form UTF-8 are read so; others stay
 * Latin-1 (what Node's fetch and Python's requests send for such characters). Latin-1 text that
 * happens to be valid UTF-8 needs two or more accented symbols in a row ("Ã©"): no real id.
 */
function headerText(value: string): string {
  if (!NOT_ASCII.test(value)) return value;
  try {
    return UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}
