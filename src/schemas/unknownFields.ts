import { z } from 'zod';
import type { FieldProblem } from '../shared/errors.js';

/**
 * Unknown keys in a request body, found by walking the value beside the zod schema that will parse it.
 *
 * zod drops keys a `z.object` does not declare, so a misspelled optional field (`max_rollout`) used to
 * be accepted and silently ignored. The rule here: every `z.object` in a wire schema is closed; a key
 * it does not declare is a problem naming the key and the closest declared name. Objects that are
 * meant to stay open are declared with `z.looseObject` (or `z.record`), and are not checked.
 *
 * Walking the schema (instead of marking each object `.strict()`) keeps every object of every wire
 * schema closed by default, including ones added later, and lets the problem carry a suggestion
 * (zod's own `unrecognized_keys` issue does not say which names were expected).
 */
export function unknownFieldProblems(schema: z.ZodType, value: unknown, path: readonly string[] = []): FieldProblem[] {
  const problems: FieldProblem[] = [];
  walk(schema, value, [...path], problems);
  return problems;
}

/** The message for a key that is not one of `known`, with the closest known name when one is close. */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const near = closestName(key, known);
  if (near !== undefined) return `unknown field; did you mean ${near}?`;
  return known.length > 0 ? `unknown field; known fields here: ${[...known].sort().join(', ')}` : 'unknown field';
}

/**
 * The known name nearest to `key` by edit distance (adjacent swaps count as one edit), if it is near
 * enough to be a plausible typo: at most 2 edits, or a quarter of the name for long names.
 */
export function closestName(key: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/-/g, '_');
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = editDistance(norm(key), norm(name));
    if (d <= Math.max(2, Math.floor(Math.max(key.length, name.length) / 4)) && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment distance; rows for i-2, i-1 and i.
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Looks through wrappers that do not change which keys an object may have. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault
      || s instanceof z.ZodPrefault || s instanceof z.ZodReadonly || s instanceof z.ZodCatch || s instanceof z.ZodNonOptional) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else if (s instanceof z.ZodLazy) {
      s = s.unwrap() as z.ZodType;
    } else {
      return s;
    }
  }
}

function walk(schema: z.ZodType, value: unknown, path: string[], out: FieldProblem[]): void {
  const s = unwrap(schema);
  if (s instanceof z.ZodObject) {
    if (!isPlainObject(value)) return; // a wrong type is the schema's to report
    const shape = s.shape as Record<string, z.ZodType>;
    const known = Object.keys(shape);
    const open = s._zod.def.catchall !== undefined && !(s._zod.def.catchall instanceof z.ZodNever);
    for (const [key, v] of Object.entries(value)) {
      // Own keys only: `shape.toString` is Object.prototype's, which made `toString`, `valueOf`,
      // `constructor`... pass as known fields and be stored unread.
      const field = Object.hasOwn(shape, key) ? shape[key] : undefined;
      if (field !== undefined) walk(field, v, [...path, key], out);
      else if (!open) out.push({ path: [...path, key].join('.'), message: unknownFieldMessage(key, known) });
    }
  } else if (s instanceof z.ZodArray) {
    if (!Array.isArray(value)) return;
    value.forEach((item, i) => walk(s.element as z.ZodType, item, [...path, String(i)], out));
  } else if (s instanceof z.ZodRecord) {
    if (!isPlainObject(value)) return;
    for (const [key, v] of Object.entries(value)) walk(s._zod.def.valueType as z.ZodType, v, [...path, key], out);
  } else if (s instanceof z.ZodUnion) {
    const option = unionOptionFor(s.options as readonly z.ZodType[], value);
    if (option !== undefined) walk(option, value, path, out);
  }
}

/** The union member a value was evidently meant for: the object member sharing most keys, or the array member. */
function unionOptionFor(options: readonly z.ZodType[], value: unknown): z.ZodType | undefined {
  if (Array.isArray(value)) return options.find((o) => unwrap(o) instanceof z.ZodArray);
  if (!isPlainObject(value)) return undefined;
  let best: { option: z.ZodType; shared: number } | undefined;
  for (const option of options) {
    const s = unwrap(option);
    if (!(s instanceof z.ZodObject)) continue;
    const shared = Object.keys(value).filter((k) => Object.hasOwn(s.shape, k)).length;
    if (best === undefined || shared > best.shared) best = { option, shared };
  }
  return best?.option;
}
