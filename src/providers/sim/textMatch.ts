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

/** Sentences and lines: rules are judged one sentence at a time. */
export function splitSentences(text: string): string[] {
  return text
    .split(/\n+|(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
