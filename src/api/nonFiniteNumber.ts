/**
 * Where a JSON text that failed to parse holds `NaN`, `Infinity` or `-Infinity` as a value: what
 * Python's `json.dumps` writes for `float("nan")` and `float("inf")` (its default, `allow_nan=True`),
 * and JavaScript's JSON5-style serializers too. JSON has no such literal, so the body is malformed;
 * this names the field, so the client learns which value was not a finite number (a score computed
 * as 0/0) instead of "not valid JSON".
 */
export interface NonFiniteNumber {
  /** Dotted path of the value (array elements by index), '' for the body itself. */
  path: string;
  literal: 'NaN' | 'Infinity' | '-Infinity';
}

type Frame = { kind: 'object'; key: string | null; awaitingKey: boolean } | { kind: 'array'; index: number };

const LITERALS = ['NaN', 'Infinity', '-Infinity'] as const;

/** The first such literal outside strings, or null. Linear in the text, no recursion (any depth). */
export function nonFiniteNumberIn(text: string): NonFiniteNumber | null {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const top = stack[stack.length - 1];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (top?.kind === 'object' && top.awaitingKey) top.key = keyOf(text.slice(i, end + 1));
      i = end;
    } else if (c === '{') stack.push({ kind: 'object', key: null, awaitingKey: true });
    else if (c === '[') stack.push({ kind: 'array', index: 0 });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ':' && top?.kind === 'object') top.awaitingKey = false;
    else if (c === ',' && top !== undefined) {
      if (top.kind === 'object') top.awaitingKey = true;
      else top.index++;
    } else if (c === 'N' || c === 'I' || c === '-') {
      const literal = LITERALS.find((l) => text.startsWith(l, i));
      if (literal !== undefined) return { path: pathOf(stack), literal };
    }
  }
  return null;
}

/** Index of the quote closing the string that opens at `start` (the text's end when it never closes). */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

function keyOf(quoted: string): string {
  try {
    return String(JSON.parse(quoted));
  } catch {
    return quoted.slice(1, -1);
  }
}

function pathOf(stack: Frame[]): string {
  return stack.flatMap((f) => (f.kind === 'array' ? [String(f.index)] : f.key === null ? [] : [f.key])).join('.');
}
