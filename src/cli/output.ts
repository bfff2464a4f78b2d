/** Plain text tables for people; every command also has --json for scripts. */
export function printTable(rows: Array<Record<string, unknown>>, columns: string[], out: (s: string) => void = (s) => process.stdout.write(s)): void {
  if (rows.length === 0) {
    out('(none)\n');
    return;
  }
  const cell = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'number' ? formatNumber(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  out(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const r of rows) out(`${line(columns.map((c) => cell(r[c])))}\n`);
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
