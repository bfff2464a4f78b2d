/** Whole-word, case-insensitive matching where `_` counts as part of a word (so `card_stolen` does not contain `stolen`). */
export interface Span {
  start: number;
  end: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const patternCache = new Map<string, RegExp>();

function wordPattern(term: string): RegExp {
  let re = patternCache.get(term);
  if (!re) {
    re = new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(term)}(?![A-Za-z0-9_])`, 'gi');
    patternCache.set(term, re);
  }
  return re;
}

export function findWord(text: string, term: string): Span[] {
  const re = wordPattern(term);
  re.lastIndex = 0;
  const spans: Span[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) spans.push({ start: m.index, end: m.index + m[0].length });
  return spans;
}

export function containsWord(text: string, term: string): boolean {
  return findWord(text, term).length > 0;
}

/** Characters between two spans (0 when they touch or overlap). */
export function spanGap(a: Span, b: Span): number {
  if (a.end <= b.start) return b.start - a.end;
  if (b.end <= a.start) return a.start - b.end;
  return 0;
}

/**
 * The least spanGap from `a` to any of `spans` (Infinity when there are none), where `spans` are one
 * term's matches from findWord: in order, not overlapping, all as long, so their starts and their ends
 * both increase. Only the last span starting before `a` ends and the first one after it can be
 * nearest: found by bisection, so a clause naming a label and its cue words thousands of times is
 * read in n log n, not n² (each cue measured against every label: 32,000 of each took 42 s).
 */
export function nearestGap(a: Span, spans: readonly Span[]): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((spans[mid]?.start ?? 0) < a.end) lo = mid + 1;
    else hi = mid;
  }
  const before = spans[lo - 1];
  const after = spans[lo];
  return Math.min(before === undefined ? Infinity : spanGap(a, before), after === undefined ? Infinity : spanGap(a, after));
}

/** Sentences and lines: rules are judged one sentence at a time. */
export function splitSentences(text: string): string[] {
  return text
    .split(/\n+|(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
