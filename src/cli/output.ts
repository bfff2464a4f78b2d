import { type TableFit, cutText, displayWidth, fitWidths, outputWidth, padText } from './tableWidth.js';

/**
 * Text for a terminal: control characters (escape sequences that could clear the screen, retitle the
 * window or write the clipboard) shown as U+FFFD. Job names, templates, instructions and feedback
 * come from API clients, the proxy's callers and the proposer model, none of whom owns the terminal.
 * The bidirectional embeddings, overrides and isolates too: they reorder what the terminal shows, so an
 * instruction could read as another text than it is. Newlines and tabs stay, and the marks an RTL text
 * uses (U+200E, U+200F). (--json output is escaped by JSON itself.)
 */
export function terminalSafe(s: string): string {
  return s.replace(TERMINAL_UNSAFE, '\ufffd');
}

/**
 * The bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), as a character
 * class range: terminalSafe and key names (keyName.ts) refuse the same set.
 */
export const BIDI_CONTROLS = '\u202a-\u202e\u2066-\u2069';
const TERMINAL_UNSAFE = new RegExp(`[\u0000-\u0008\u000b-\u001f\u007f-\u009f${BIDI_CONTROLS}]`, 'g');

/**
 * JSON for scripts, with DEL and the C1 controls (U+007F-U+009F) written as `\u` escapes.
 * JSON.stringify escapes only U+0000-U+001F: it left U+009B (a CSI, which a terminal may act on) raw
 * in --json output, and `jobs export` to standard output, passed through terminalSafe instead, had
 * these characters replaced with U+FFFD, so its file held other texts than `-o FILE` wrote. Escaped,
 * a JSON parser reads the texts exactly as they are and no terminal sees a control character.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes to stdout for people (terminalSafe). */
export const writeText = (s: string): void => {
  process.stdout.write(terminalSafe(s));
};

export interface TableOptions extends TableFit {
  /** Where the lines go; the terminal by default. */
  out?: (s: string) => void;
  /** The most characters a line may take (outputWidth: COLUMNS, the terminal's width, or no limit). */
  width?: number;
}

/**
 * Plain text tables for people; every command also has --json for scripts. Fitted to `width`
 * (fitWidths): a line wider than the terminal wraps and the columns no longer line up.
 */
export function printTable(rows: Array<Record<string, unknown>>, columns: string[], opts: TableOptions = {}): void {
  const out = opts.out ?? writeText;
  if (rows.length === 0) {
    out('(none)\n');
    return;
  }
  // One line per row: a newline or tab in a cell (a job's name may hold them) would break the columns.
  const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'number' ? formatNumber(v) : String(v).replace(/\s+/g, ' '));
  const natural = columns.map((c) => Math.max(c.length, ...rows.map((r) => displayWidth(cell(r[c])))));
  const widths = fitWidths(columns, natural, opts.width ?? outputWidth(), opts);
  const line = (vals: string[]) => vals.flatMap((v, i) => (widths[i] == null ? [] : [padText(cutText(v, widths[i]), widths[i])])).join('  ').trimEnd();
  out(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const r of rows) out(`${line(columns.map((c) => cell(r[c])))}\n`);
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
