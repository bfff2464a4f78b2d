/**
 * Prompt templates: text with `{identifier}` placeholders. Pure functions.
 *
 * A template is split once into literal segments around its placeholders. Matching a system text
 * against a template treats each placeholder as a capture; it is linear in the text (no regular
 * expression, no backtracking): literals are found left to right, each at its leftmost position,
 * which finds a match whenever one exists because the last literal is anchored at the end. Long
 * literals are found by their head and confirmed in place, with Knuth-Morris-Pratt taking over when
 * that costs too much (`find`), so that adversarial texts cannot make the search quadratic; short ones
 * use the engine's indexOf, whose worst case is bounded by their length.
 *
 * Captures are leftmost: with a repeated placeholder (`{x} and {x}`) a match that needs a longer first
 * capture may be missed; templates whose placeholders are distinct always match when they can.
 *
 * Only identifier-like names are placeholders (`{context}`, `{user_name}`, `{doc.title}`): JSON in a
 * prompt such as `{"label": "x"}` stays literal. Two placeholders must not touch (`{a}{b}`): where
 * one capture ends and the next begins could not be told, so such templates are refused.
 */

export const PLACEHOLDER_PATTERN = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

export interface ParsedTemplate {
  readonly text: string;
  /** A literal text (a prompt discovered from traffic): braces in it are text, it matches only itself. */
  readonly literal: boolean;
  /** Literal text around the placeholders: `literals.length === names.length + 1`. */
  readonly literals: readonly string[];
  /** Placeholder names in order of appearance (a name may repeat). */
  readonly names: readonly string[];
  /** Characters of literal text: the more, the more specific a match. */
  readonly literalLength: number;
}

export function parseTemplate(text: string): ParsedTemplate {
  const literals: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER_PATTERN)) {
    literals.push(text.slice(last, m.index));
    names.push(m[1] ?? '');
    last = m.index + m[0].length;
  }
  literals.push(text.slice(last));
  return { text, literal: false, literals, names, literalLength: literals.reduce((n, s) => n + s.length, 0) };
}

/** A text with no placeholders at all, whatever braces it holds. */
export function literalTemplate(text: string): ParsedTemplate {
  return { text, literal: true, literals: [text], names: [], literalLength: text.length };
}

/** Distinct placeholder names in order of first appearance. */
export function placeholderNames(t: ParsedTemplate | string): string[] {
  const parsed = typeof t === 'string' ? parseTemplate(t) : t;
  return [...new Set(parsed.names)];
}

/**
 * A placeholder name no value can be sent under: JSON bodies refuse a `__proto__` key (api/jsonBody.ts),
 * so `mipro.variables`, an imported demo's `variables` and a re-imported export could never name it
 * (as module names, schemas/moduleName.ts). Captures from the system text alone would fill it.
 */
const UNNAMEABLE_PLACEHOLDER = '__proto__';

/** Why a template cannot be used for matching and rendering, or null. */
export function templateProblem(t: ParsedTemplate): string | null {
  for (let i = 1; i < t.literals.length - 1; i++) {
    if (t.literals[i] === '') {
      return `placeholders {${t.names[i - 1]}} and {${t.names[i]}} touch: put literal text between them so the captures can be told apart`;
    }
  }
  if (t.names.includes(UNNAMEABLE_PLACEHOLDER)) {
    return `placeholder {${UNNAMEABLE_PLACEHOLDER}} cannot be given a value: mipro.variables and demo variables refuse the key ${UNNAMEABLE_PLACEHOLDER} (it could rewrite an object's prototype); rename it`;
  }
  return null;
}

/**
 * The captures of `text` against `t`, or null when it does not match. A repeated placeholder must
 * capture the same text each time.
 */
export function matchTemplate(t: ParsedTemplate, text: string): Record<string, string> | null {
  const { literals, names } = t;
  if (names.length === 0) return text === t.text ? {} : null;
  const first = literals[0] ?? '';
  const lastLiteral = literals[literals.length - 1] ?? '';
  if (first.length + lastLiteral.length > text.length) return null;
  if (!text.startsWith(first) || !text.endsWith(lastLiteral)) return null;
  const end = text.length - lastLiteral.length;
  // A Map, not an object: placeholder names may be `constructor` or `__proto__`.
  const captures = new Map<string, string>();
  let pos = first.length;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] ?? '';
    let value: string;
    if (i === names.length - 1) {
      value = text.slice(pos, end);
    } else {
      const literal = literals[i + 1] ?? '';
      const at = find(text, literal, pos, end);
      if (at < 0) return null;
      value = text.slice(pos, at);
      pos = at + literal.length;
    }
    const seen = captures.get(name);
    if (seen !== undefined && seen !== value) return null;
    captures.set(name, value);
  }
  return Object.fromEntries(captures);
}

/**
 * The value of placeholder `name`, or undefined. Own properties only: a template may name
 * `{constructor}` or `{toString}`, which every object inherits as functions.
 */
export function variableValue(variables: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.hasOwn(variables, name) ? variables[name] : undefined;
}

/** The template with every placeholder replaced; the names that had no value instead of a text. */
export function renderTemplate(t: ParsedTemplate, variables: Readonly<Record<string, string>>): { text: string } | { missing: string[] } {
  const missing = t.names.filter((n) => variableValue(variables, n) === undefined);
  return missing.length > 0 ? { missing: [...new Set(missing)] } : { text: fill(t, variables) };
}

/**
 * Like renderTemplate, but a placeholder without a value stays as written: for candidate texts whose
 * extra `{words}` an earlier release sent literally (new proposals cannot add placeholders).
 */
export function renderKeepingUnknown(t: ParsedTemplate, variables: Readonly<Record<string, string>>): string {
  return fill(t, variables);
}

function fill(t: ParsedTemplate, variables: Readonly<Record<string, string>>): string {
  if (t.names.length === 0) return t.text;
  let out = t.literals[0] ?? '';
  for (let i = 0; i < t.names.length; i++) {
    const name = t.names[i] ?? '';
    out += (variableValue(variables, name) ?? `{${name}}`) + (t.literals[i + 1] ?? '');
  }
  return out;
}

const KMP_FROM = 64;
/** Characters of a long literal searched for natively to find where it may start. */
const HEAD_CHARS = 16;
/** Characters compared confirming candidates, per character of the searched range, before KMP takes over. */
const CONFIRM_BUDGET = 2;

/**
 * First index of `needle` in `hay` within [from, to - needle.length], or -1. Linear time.
 *
 * A long literal is first looked for the fast way: each place its head occurs (the engine's indexOf)
 * is confirmed in place (startsWith). In a real prompt the literal follows its capture and is found at
 * the first such place. A text where the head occurs often without the rest following would make that
 * quadratic, so the confirmations get a budget of a few passes over the range, after which
 * Knuth-Morris-Pratt finishes the search from where it stands. Either way the answer is the leftmost
 * occurrence (test/unit/optimizer/templateSearch.test.ts compares it with a plain search).
 */
function find(hay: string, needle: string, from: number, to: number): number {
  if (needle.length === 0) return from;
  if (needle.length < KMP_FROM) {
    const at = hay.indexOf(needle, from);
    return at >= 0 && at + needle.length <= to ? at : -1;
  }
  const head = needle.slice(0, HEAD_CHARS);
  let budget = CONFIRM_BUDGET * (to - from);
  let pos = from;
  for (;;) {
    const at = hay.indexOf(head, pos);
    if (at < 0 || at + needle.length > to) return -1;
    if (hay.startsWith(needle, at)) return at;
    budget -= needle.length;
    if (budget < 0) return findKmp(hay, needle, at + 1, to);
    pos = at + 1;
  }
}

/** `find` by Knuth-Morris-Pratt: linear whatever the text. */
function findKmp(hay: string, needle: string, from: number, to: number): number {
  const fail = failureFunction(needle);
  let k = 0;
  for (let i = from; i < to; i++) {
    const c = hay.charCodeAt(i);
    while (k > 0 && needle.charCodeAt(k) !== c) k = fail[k - 1] ?? 0;
    if (needle.charCodeAt(k) === c) k++;
    if (k === needle.length) return i - needle.length + 1;
  }
  return -1;
}

function failureFunction(p: string): Int32Array {
  const f = new Int32Array(p.length);
  let k = 0;
  for (let i = 1; i < p.length; i++) {
    while (k > 0 && p.charCodeAt(i) !== p.charCodeAt(k)) k = f[k - 1] ?? 0;
    if (p.charCodeAt(i) === p.charCodeAt(k)) k++;
    f[i] = k;
  }
  return f;
}
