import { BIDI_CONTROLS } from './output.js';

/**
 * An API key's name is how `keys list` and `keys revoke` show the key to the operator, in their
 * terminal. `keys create` took any text: 100,000 characters, or an ESC sequence that `keys revoke`
 * then wrote to the terminal as it was.
 */
export const MAX_KEY_NAME_CHARS = 200;

/**
 * C0 controls (tab and newline too: a name is one line), DEL, the C1 controls, and the bidirectional
 * embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): those act on the terminal's
 * display, so `keys list` could show a name reordered (a "Trojan Source" spoof of another key's).
 */
const CONTROL = new RegExp(`[\u0000-\u001f\u007f-\u009f${BIDI_CONTROLS}]`);
const CONTROLS = new RegExp(CONTROL.source, 'g');

/** Why `--name` cannot name a key, or null. Length counts characters (code points), not UTF-16 units. */
export function keyNameProblem(name: string): string | null {
  if (name.trim() === '') return '--name must not be empty: it is how keys list and keys revoke name the key';
  const chars = [...name].length;
  if (chars > MAX_KEY_NAME_CHARS) return `--name is ${chars} characters long: at most ${MAX_KEY_NAME_CHARS}`;
  const control = CONTROL.exec(name);
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `--name must not hold control characters (U+${code} at character ${[...name.slice(0, control.index)].length + 1}): use printable text`;
  }
  return null;
}

const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * A name as text for the terminal, its control characters written as escapes (`\t`, `\x1b`): names
 * made before the check above, or written to the database by other means, still show what they hold
 * and cannot act on the terminal.
 */
export function visibleKeyName(name: string): string {
  return name.replace(CONTROLS, (c) => NAMED[c] ?? (c.charCodeAt(0) > 0xff ? `\\u${c.charCodeAt(0).toString(16)}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
