/**
 * How wide the CLI's tables may be: `COLUMNS` when set to a positive integer (POSIX's override of the
 * terminal width, which tests and scripts use), else the terminal's width when standard output is
 * one, else no limit. Piped or redirected output is not cut (as gh and kubectl do): a file or a grep
 * gets every character, and a terminal gets lines that do not wrap and break the columns.
 */
export function outputWidth(env: NodeJS.ProcessEnv = process.env, stdout: { isTTY?: boolean; columns?: number } = process.stdout): number {
  const columns = env.COLUMNS?.trim() ?? '';
  if (/^\d+$/.test(columns) && Number(columns) > 0) return Number(columns);
  return stdout.isTTY && stdout.columns ? stdout.columns : Number.POSITIVE_INFINITY;
}

/** How a table gives way on a narrow terminal. Ids and numbers never do: they are copied into commands. */
export interface TableFit {
  /**
   * Text columns (names, instructions) cut with an ellipsis, each to no fewer characters than given
   * here (or its header's): shorter, a name or an instruction no longer reads as one.
   */
  flexible?: Readonly<Record<string, number>>;
  /**
   * Columns left out, in this order, while the table does not fit even with its flexible columns at
   * their minimum; a group (a score and its interval) goes together.
   */
  drop?: ReadonlyArray<string | readonly string[]>;
}

/**
 * Each column's width for a table of these natural widths (its longest cell) to fit in `total`
 * characters with `gap` between columns, or null for a column left out. Columns are dropped first
 * (so the flexible ones keep as much as they can), then the widest flexible column is narrowed a
 * column at a time. What still does not fit stays wider than `total`: an id is never cut.
 */
export function fitWidths(columns: readonly string[], natural: readonly number[], total: number, fit: TableFit, gap = 2): Array<number | null> {
  const min = (c: string): number | undefined => (fit.flexible && Object.hasOwn(fit.flexible, c) ? fit.flexible[c] : undefined);
  const flexible = columns.map((c) => min(c) !== undefined);
  const least = natural.map((w, i) => Math.min(w, Math.max(min(columns[i]!) ?? w, columns[i]!.length)));
  const widths: Array<number | null> = [...natural];
  const used = (of: readonly number[]) => {
    const shown = widths.flatMap((w, i) => (w === null ? [] : [of[i]!]));
    return shown.reduce((a, b) => a + b, 0) + gap * Math.max(0, shown.length - 1);
  };
  for (const group of fit.drop ?? []) {
    if (used(least) <= total) break;
    for (const name of typeof group === 'string' ? [group] : group) {
      const i = columns.indexOf(name);
      if (i >= 0) widths[i] = null;
    }
  }
  for (let excess = used(natural) - total; excess > 0; excess--) {
    let widest = -1;
    widths.forEach((w, i) => {
      if (w !== null && flexible[i] && w > least[i]! && (widest < 0 || w > widths[widest]!)) widest = i;
    });
    if (widest < 0) break;
    widths[widest]! -= 1;
  }
  return widths;
}

/**
 * Code points a terminal draws two columns wide (East Asian wide and fullwidth, most emoji) or none
 * (combining marks, zero-width joiners and spaces, variation selectors). Counted by `length`, a
 * Japanese or Chinese instruction took twice the columns it was given and the rows after it shifted.
 */
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1faff}\u{20000}-\u{3fffd}]/u;
const ZERO = /[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u200b-\u200f\u20d0-\u20ff\ufe00-\ufe0f]/u;
const columnsOf = (ch: string): number => (ZERO.test(ch) ? 0 : WIDE.test(ch) ? 2 : 1);

/** The columns `text` takes on a terminal. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += columnsOf(ch);
  return width;
}

/** `text` in at most `width` columns, its end replaced by an ellipsis when cut (never half a surrogate pair); none below 1. */
export function cutText(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width < 1) return ''; // not even the ellipsis fits
  let head = '';
  let used = 0;
  for (const ch of text) {
    if (used + columnsOf(ch) > width - 1) break;
    head += ch;
    used += columnsOf(ch);
  }
  return `${head}…`;
}

/** `text` padded with spaces to `width` columns. */
export const padText = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - displayWidth(text)));
