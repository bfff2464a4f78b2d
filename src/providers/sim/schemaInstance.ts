/**
 * A value that validates against a JSON Schema, built deterministically: the simulator's answer to
 * tool calls (arguments) and `json_schema` response formats. Covers what tool and structured-output
 * schemas use (type, properties, required, items, min/max bounds, enum, const, anyOf/oneOf/allOf,
 * $ref into $defs/definitions, nullable type arrays, string formats); `pattern` is not solved (a
 * string is still given; documented in docs/simulator.md). `text` fills string fields.
 */
type Schema = Record<string, unknown>;

const MAX_DEPTH = 12;
/**
 * Values and string characters one instance may hold. The schema comes with the call (a proxy caller
 * needs no API key): `minItems: 1e9`, `minLength: 1e9` or a `$ref` named by each of many properties
 * (16 properties, 6 levels deep: 16^6 objects) asked for more than the process can hold, built on
 * the event loop. Far above what a tool or a structured answer needs.
 */
export const MAX_INSTANCE_VALUES = 10_000;
export const MAX_INSTANCE_CHARS = 1_000_000;

/** A schema whose smallest instance holds more than MAX_INSTANCE_VALUES values or MAX_INSTANCE_CHARS characters. */
export class SchemaTooLargeError extends Error {}

interface Budget {
  values: number;
  chars: number;
}

export function schemaInstance(schema: unknown, text: string): unknown {
  const root = isSchema(schema) ? schema : {};
  return build(root, root, text, 0, '', { values: MAX_INSTANCE_VALUES, chars: MAX_INSTANCE_CHARS });
}

function spend(budget: Budget, values: number, chars: number): void {
  budget.values -= values;
  budget.chars -= chars;
  if (budget.values < 0) throw new SchemaTooLargeError(`its instance would hold more than ${MAX_INSTANCE_VALUES} values`);
  if (budget.chars < 0) throw new SchemaTooLargeError(`its instance would hold more than ${MAX_INSTANCE_CHARS} characters of strings`);
}

function build(s: Schema, root: Schema, text: string, depth: number, key: string, budget: Budget): unknown {
  if (depth > MAX_DEPTH) return null;
  spend(budget, 1, 0);
  if (typeof s.$ref === 'string') return build(resolve(s.$ref, root), root, text, depth + 1, key, budget);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const alternatives = (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : undefined)?.filter(isSchema);
  if (alternatives !== undefined && alternatives.length > 0) {
    // The first option that is not just `null`: a nullable field still gets a real value.
    const pick = alternatives.find((a) => a.type !== 'null') ?? alternatives[0]!;
    return build({ ...withoutKeys(s, ['anyOf', 'oneOf']), ...pick }, root, text, depth + 1, key, budget);
  }
  if (Array.isArray(s.allOf)) {
    const merged = s.allOf.filter(isSchema).reduce<Schema>((acc, part) => mergeSchemas(acc, part), withoutKeys(s, ['allOf']));
    return build(merged, root, text, depth + 1, key, budget);
  }
  const type = typeOf(s);
  switch (type) {
    case 'object': return objectOf(s, root, text, depth, budget);
    case 'array': return arrayOf(s, root, text, depth, key, budget);
    case 'integer': return numberOf(s, true);
    case 'number': return numberOf(s, false);
    case 'boolean': return true;
    case 'null': return null;
    default: return stringOf(s, text, key, budget);
  }
}

function typeOf(s: Schema): string {
  if (Array.isArray(s.type)) return (s.type.find((t) => t !== 'null') as string | undefined) ?? 'null';
  if (typeof s.type === 'string') return s.type;
  if (isSchema(s.properties)) return 'object';
  if (s.items !== undefined) return 'array';
  return 'string';
}

function objectOf(s: Schema, root: Schema, text: string, depth: number, budget: Budget): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = isSchema(s.properties) ? s.properties : {};
  // Every declared property (strict schemas require them all); extra required names get a string.
  for (const [name, sub] of Object.entries(props)) out[name] = build(isSchema(sub) ? sub : {}, root, text, depth + 1, name, budget);
  for (const name of Array.isArray(s.required) ? s.required : []) {
    // Own keys only: `name in out` found Object.prototype's `toString` or `constructor`, so a schema
    // requiring a field so named got an answer without it, which the schema refuses.
    if (typeof name === 'string' && !Object.hasOwn(out, name)) {
      spend(budget, 1, text.length);
      out[name] = text;
    }
  }
  return out;
}

function arrayOf(s: Schema, root: Schema, text: string, depth: number, key: string, budget: Budget): unknown[] {
  const min = typeof s.minItems === 'number' ? s.minItems : 0;
  const max = typeof s.maxItems === 'number' ? s.maxItems : Infinity;
  const count = Math.min(Math.max(min, 1), max);
  if (Array.isArray(s.prefixItems)) {
    return s.prefixItems.filter(isSchema).map((p) => build(p, root, text, depth + 1, key, budget));
  }
  const items = isSchema(s.items) ? s.items : {};
  // Refused before the array is made: each item is at least one value.
  if (count > budget.values) spend(budget, count, 0);
  const values = Array.from({ length: count }, () => build(items, root, text, depth + 1, key, budget));
  // uniqueItems with constant values: numbers and strings are made distinct by position.
  if (s.uniqueItems === true && count > 1) return values.map((v, i) => (typeof v === 'number' ? v + i : typeof v === 'string' ? `${v} ${i + 1}` : v));
  return values;
}

function numberOf(s: Schema, integer: boolean): number {
  let lo = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + (integer ? 1 : 0.5) : 0;
  const hi = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - (integer ? 1 : 0.5) : Infinity;
  if (lo > hi) lo = hi;
  let v = integer ? Math.ceil(lo) : lo;
  const step = typeof s.multipleOf === 'number' && s.multipleOf > 0 ? s.multipleOf : undefined;
  if (step !== undefined) v = Math.ceil(v / step) * step;
  return Math.min(v, hi === Infinity ? v : hi);
}

function stringOf(s: Schema, text: string, key: string, budget: Budget): string {
  switch (s.format) {
    case 'date-time': return '2025-01-01T00:00:00Z';
    case 'date': return '2025-01-01';
    case 'time': return '00:00:00';
    case 'email': return 'sim@example.com';
    case 'uri':
    case 'url': return 'https://example.com/';
    case 'uuid': return '00000000-0000-4000-8000-000000000000';
    default: break;
  }
  const base = text.trim() !== '' ? text.trim() : key !== '' ? key : 'sim';
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  // Refused before padding: at least `min` characters.
  if (min > budget.chars) spend(budget, 0, min);
  let out = [...base].slice(0, max === Infinity ? undefined : max).join('');
  // Padded in one step: adding an x at a time and counting code points each time was the square of minLength.
  const points = [...out].length;
  if (points < min) out += 'x'.repeat(Math.ceil(min - points));
  spend(budget, 0, out.length);
  return out;
}

function resolve(ref: string, root: Schema): Schema {
  if (ref === '#') return root;
  const path = ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = root;
  for (const part of path) node = isSchema(node) ? node[part] : undefined;
  return isSchema(node) ? node : {};
}

function mergeSchemas(a: Schema, b: Schema): Schema {
  const props = { ...(isSchema(a.properties) ? a.properties : {}), ...(isSchema(b.properties) ? b.properties : {}) };
  const required = [...(Array.isArray(a.required) ? a.required : []), ...(Array.isArray(b.required) ? b.required : [])];
  return { ...a, ...b, ...(Object.keys(props).length > 0 ? { properties: props } : {}), ...(required.length > 0 ? { required } : {}) };
}

function withoutKeys(s: Schema, keys: string[]): Schema {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !keys.includes(k)));
}

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
