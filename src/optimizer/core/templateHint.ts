import type { ParsedTemplate } from './templates.js';

/**
 * Spots a discovered system text that looks like another discovered module's text with per-request
 * content in it. Discovery keeps each distinct text as a literal module, so an app whose system text
 * carries retrieved context or user data gets a new module per request until `mipro.max_modules`,
 * and every later call passes through unoptimized. Saying so when the second such text is discovered
 * lets the app declare a template before the slots are gone. A hint only: two different prompts that
 * share a long preamble look the same to it.
 */

/** Shared characters (common start plus common end) needed, as a share of the shorter text... */
const FRAME_SHARE = 0.5;
/** ...and in characters: short texts share a few words by chance. */
const MIN_FRAME = 24;

export interface FramingModule {
  name: string;
  /** Characters the two texts share at their start and end. */
  shared: number;
}

/** The first module whose text frames `text` (same start and end, another middle), else null. Linear time. */
export function framingModule(modules: readonly { name: string; template: string }[], text: string): FramingModule | null {
  for (const m of modules) {
    const shared = sharedFrame(m.template, text);
    if (shared >= MIN_FRAME && shared >= FRAME_SHARE * Math.min(m.template.length, text.length)) return { name: m.name, shared };
  }
  return null;
}

/** Length of the common prefix plus the common suffix of what is left after it. */
function sharedFrame(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < n && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < n - prefix && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix++;
  return prefix + suffix;
}

/**
 * Where a system text that matched no declared module leaves the module it came closest to, so an
 * app whose text drifted from its template (a changed word, a missing period, a trailing newline)
 * learns which module and where, instead of diffing a long template by hand.
 */
export interface NearMiss {
  module: string;
  /** Characters of the template's literal text the system text follows before it leaves it. */
  matched: number;
  /** What differs, for people: `at character 18 the template has "." where the text ends` (the text is never quoted). */
  reason: string;
}

/** A near miss follows at least this share of the template's literal text... */
const NEAR_SHARE = 0.5;
/** ...and this many characters of it (a short template shares a word with anything). */
const MIN_NEAR = 12;
/** Characters of each side quoted in a reason. */
const QUOTE = 24;

/**
 * The declared module whose template the text follows furthest, and where it stops following it
 * (null: no template comes near). Linear in the text for each module: each literal is searched at
 * its leftmost place after the previous one, the last one anchored at the end, as matching does.
 */
export function nearMiss(modules: readonly { name: string; parsed: ParsedTemplate }[], text: string): NearMiss | null {
  let best: NearMiss | null = null;
  for (const m of modules) {
    if (m.parsed.literalLength === 0) continue; // `""` or a bare `{x}`: nothing to compare
    const miss = missOf(m.parsed, text);
    if (miss === null) continue; // it matches: not what an unmatched text is about
    if (miss.matched < MIN_NEAR || miss.matched < NEAR_SHARE * m.parsed.literalLength) continue;
    if (best === null || miss.matched > best.matched) best = { module: m.name, ...miss };
  }
  return best;
}

function missOf(t: ParsedTemplate, text: string): { matched: number; reason: string } | null {
  const { literals, names } = t;
  const first = literals[0] ?? '';
  const last = literals[literals.length - 1] ?? '';
  const prefix = commonPrefix(first, text);
  // Leaving the template early, the text may still end as it does (one word changed near the start):
  // that ending counts toward how near it is, never overlapping the shared start.
  const ending = (from: string) => Math.min(commonSuffix(from, text), text.length - prefix, from.length - prefix);
  if (names.length === 0) {
    if (prefix === first.length && prefix === text.length) return null;
    return { matched: prefix + Math.max(0, ending(first)), reason: differsAt(prefix, first, text) };
  }
  if (prefix < first.length) return { matched: prefix + Math.max(0, Math.min(commonSuffix(last, text), text.length - prefix)), reason: differsAt(prefix, first, text) };
  let matched = first.length;
  let pos = first.length;
  const end = Math.max(pos, text.length - last.length);
  for (let i = 1; i < literals.length - 1; i++) {
    const literal = literals[i] ?? '';
    const at = text.indexOf(literal, pos);
    if (at < 0 || at + literal.length > end) {
      // The text may follow most of this literal and leave it at one word (a drifted prompt whose
      // first placeholder comes early): count the start of the literal it has, and the end of the
      // literal it has after that, or such a text was "not near" any module.
      const start = longestStartIn(literal, text, pos, end);
      const rest = longestEndIn(literal.slice(start.length), text, start.after, end);
      const reason = start.length === 0 ? `the template's text ${quote(literal)} after {${names[i - 1]}} is not in the text`
        : `at character ${start.after + 1} the template has ${quote(literal.slice(start.length, start.length + QUOTE))} where the text ${start.after >= text.length ? 'ends' : 'differs'}`;
      return { matched: matched + start.length + rest, reason };
    }
    matched += literal.length;
    pos = at + literal.length;
  }
  const suffix = commonSuffix(last, text.slice(pos));
  if (suffix < last.length) {
    return {
      matched: matched + suffix,
      reason: `the text does not end as the template does (${quoteTail(last)})${suffix === 1 ? ': only the last character agrees' : suffix > 1 ? `: only the last ${suffix} characters agree` : ''}`,
    };
  }
  // Every literal is there: only a repeated placeholder capturing two texts can refuse it.
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  return repeated === undefined ? null : { matched: t.literalLength, reason: `{${repeated}} appears twice in the template and the text puts different texts there` };
}

/**
 * `at character 19 the template has "." where the text ends`. Only the template is quoted: the text
 * is the app's call (RETENTION_DAYS clears the event's preview of it, not its message).
 */
function differsAt(at: number, template: string, text: string): string {
  const t = at >= template.length ? 'ends' : `has ${quote(template.slice(at, at + QUOTE))}`;
  const x = at >= text.length ? 'ends' : at >= template.length ? 'goes on' : 'differs';
  return `at character ${at + 1} the template ${t} where the text ${x}`;
}

function quote(s: string): string {
  return JSON.stringify(s.length > QUOTE ? `${s.slice(0, QUOTE)}…` : s);
}

/** The end of `s`, quoted: `"…the last 24 characters"`. */
function quoteTail(s: string): string {
  return JSON.stringify(s.length > QUOTE ? `…${s.slice(-QUOTE)}` : s);
}

/**
 * The longest start of `p` found in `text` within [from, to), and the index in the text right after
 * its first place. Each step looks for the next place the text has one character more of `p` than
 * found so far (native indexOf), then follows `p` from there: read a character at a time instead
 * (Knuth-Morris-Pratt), a 1 MB text against 16 templates held the event loop for about a second,
 * the hint being computed as the call goes upstream.
 */
function longestStartIn(p: string, text: string, from: number, to: number): { length: number; after: number } {
  let best = 0;
  let after = from;
  for (let cursor = from; best < p.length;) {
    const at = text.indexOf(p.slice(0, best + 1), cursor);
    if (at < 0 || at + best + 1 > to) break;
    let length = best + 1;
    while (length < p.length && at + length < to && text.charCodeAt(at + length) === p.charCodeAt(length)) length++;
    best = length;
    after = at + length;
    cursor = at + 1; // a longer start begins after this one: here it could not be followed further
  }
  return { length: best, after };
}

/**
 * The length of the longest end of `p` found in `text` within [from, to): the same, followed backwards
 * from each place found. A text where each place found adds one character (a template's `baaa…a`
 * against `aaa…a`) searches again for every length: the square of the literal (a 100,000-character
 * literal, about 1.6 s per unmatched call). Past a few passes' worth of characters searched, the
 * reversed Knuth-Morris-Pratt scan, linear, gives the answer.
 */
export function longestEndIn(p: string, text: string, from: number, to: number): number {
  let best = 0;
  let budget = SEARCH_BUDGET * (Math.max(0, to - from) + p.length);
  for (let cursor = from; best < p.length;) {
    budget -= best + 1;
    if (budget < 0) return longestEndByKmp(p, text, from, to);
    const at = text.indexOf(p.slice(p.length - best - 1), cursor);
    if (at < 0 || at + best + 1 > to) break;
    let start = at;
    while (best + 1 + (at - start) < p.length && start > from && text.charCodeAt(start - 1) === p.charCodeAt(p.length - best - 2 - (at - start))) start--;
    best += 1 + (at - start);
    // A longer end holds the one found so far at a later place: it may begin here, no sooner.
    cursor = start;
  }
  return best;
}

/** Characters of needle searched for, per character of text and literal, before longestEndIn turns to KMP. */
const SEARCH_BUDGET = 4;

/**
 * longestEndIn by Knuth-Morris-Pratt over both strings read backwards: the automaton's state after
 * each character is the longest end of `p` that the text has starting there, so the largest state
 * is the answer. Linear whatever the text.
 */
export function longestEndByKmp(p: string, text: string, from: number, to: number): number {
  const m = p.length;
  if (m === 0) return 0;
  const at = (j: number) => p.charCodeAt(m - 1 - j); // p reversed
  const fail = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && at(i) !== at(k)) k = fail[k - 1] ?? 0;
    if (at(i) === at(k)) k++;
    fail[i] = k;
  }
  let best = 0;
  for (let i = Math.min(to, text.length) - 1, k = 0; i >= from && best < m; i--) {
    const c = text.charCodeAt(i);
    while (k > 0 && at(k) !== c) k = fail[k - 1] ?? 0;
    if (at(k) === c) k++;
    if (k > best) best = k;
    if (k === m) break;
  }
  return best;
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function commonSuffix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}
