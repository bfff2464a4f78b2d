/** Plain-text tables and target verdicts for the benchmark output (markdown-compatible). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export interface Verdict {
  /** What is promised, e.g. "miprox added p50 <= 0.5 ms". */
  target: string;
  /** What was measured, formatted. */
  measured: string;
  /** null: could not be measured (the reason is in `measured`). */
  met: boolean | null;
}

export function verdictLines(verdicts: Verdict[]): string {
  return verdicts
    .map((v) => `${v.met === null ? 'NOT MEASURED' : v.met ? 'met   ' : 'MISSED'}  ${v.target}: ${v.measured}`)
    .join('\n');
}

export function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function numberArg(flag: string, fallback: number): number {
  const raw = argValue(flag);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got ${raw}`);
  return n;
}
