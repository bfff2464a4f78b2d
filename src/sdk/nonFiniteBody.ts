import { ValidationError } from './errors.js';

/**
 * JSON.stringify writes NaN, Infinity and -Infinity as `null`, silently. In a reward that turned a
 * score computed as 0/0 into "no score": the server then inferred one from `metadata.expected` and
 * `metadata.predicted` (1 or 0, a reward the app never gave, recorded for good since the rollout's
 * first reward wins) or answered that the score "is required", naming nothing the app did. Such a
 * body is refused before it is sent, naming the value's field as the server's own 400 does.
 */
export function refuseNonFiniteNumbers(body: unknown): void {
  const found = firstNonFinite(body);
  if (found === null) return;
  const message = `is ${found.value}, which JSON does not have (JSON.stringify would send null): send a finite number`;
  throw new ValidationError(`request not sent: ${found.path || 'body'} is not a finite number`, {
    code: 'non_finite_number', details: [{ path: found.path, message }],
  });
}

/** Dotted path (array elements by index) of the first non-finite number, breadth first; no recursion. */
function firstNonFinite(body: unknown): { path: string; value: number } | null {
  const queue: Array<{ path: string; value: unknown }> = [{ path: '', value: body }];
  const seen = new Set<object>();
  for (let i = 0; i < queue.length; i++) {
    const { path, value } = queue[i]!;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { path, value };
      continue;
    }
    // A cycle is JSON.stringify's to refuse; a value it skips (a function) or serialises itself
    // (a Date, via toJSON) holds nothing it would turn into null.
    if (value === null || typeof value !== 'object' || seen.has(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') continue;
    seen.add(value);
    const join = (key: string | number) => (path === '' ? String(key) : `${path}.${key}`);
    if (Array.isArray(value)) value.forEach((v, k) => queue.push({ path: join(k), value: v }));
    else for (const [k, v] of Object.entries(value)) queue.push({ path: join(k), value: v });
  }
  return null;
}
