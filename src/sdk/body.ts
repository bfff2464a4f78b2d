import { type ErrorDetail, ValidationError } from './errors.js';

/**
 * A request body as JSON text, or a ValidationError naming the field JSON cannot carry, before any
 * request is made. JSON.stringify writes NaN and ±Infinity as null, so a score computed as 0/0 reached
 * the server as `"score": null` and came back "reward_info.score: is required", which names no cause;
 * a BigInt or a circular object made it throw, and that was reported as a ConnectionError ("cannot
 * reach" the server, `requestSent: true`) and retried.
 */
export function serializeBody(body: unknown): string {
  let nonFinite = false;
  let text: string | undefined;
  try {
    text = JSON.stringify(body, (_key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) nonFinite = true;
      return value;
    });
  } catch (err) {
    throw invalidBody(findProblem(body) ?? { path: '', message: err instanceof Error ? err.message : String(err) }, err);
  }
  if (nonFinite) throw invalidBody(findProblem(body) ?? { path: '', message: 'holds a number JSON does not have (NaN or Infinity)' });
  return text ?? 'null';
}

function invalidBody(detail: ErrorDetail, cause?: unknown): ValidationError {
  return new ValidationError('the request body cannot be sent as JSON (nothing was sent)', {
    code: 'invalid_request_body', details: [detail], ...(cause === undefined ? {} : { cause }),
  });
}

/** The first value JSON cannot carry, with its dotted path (as the server's 422s name fields). */
export function findProblem(value: unknown, path: readonly string[] = [], ancestors: object[] = []): ErrorDetail | null {
  const at = path.join('.');
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: (key: string) => unknown }).toJSON(path.at(-1) ?? '');
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return { path: at, message: `is ${value}, which JSON does not have: send a finite number` };
  }
  if (typeof value === 'bigint') return { path: at, message: 'is a BigInt, which JSON does not have: send a number or a string' };
  if (value === null || typeof value !== 'object') return null;
  if (ancestors.includes(value)) return { path: at, message: 'refers back to an object that contains it (a circular structure)' };
  const inner = [...ancestors, value];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [k, v] of entries) {
    const problem = findProblem(v, [...path, k], inner);
    if (problem) return problem;
  }
  return null;
}
