import { describe, expect, it } from 'vitest';
import { matchTemplate, parseTemplate, type ParsedTemplate } from '../../../src/optimizer/core/templates.js';
import { createSeededRng, type Rng } from '../../../src/shared/rng.js';

/**
 * The matcher looks for a long literal the fast way (the engine's indexOf on its head, confirmed in
 * place) and hands over to Knuth-Morris-Pratt once confirmations have cost a few passes over the text.
 * Whichever way finds it, the answer must be the leftmost occurrence: here it is compared with a plain
 * search (every position in turn) on random templates and texts over a two-letter alphabet, mostly
 * one letter, so that heads occur everywhere, confirmations fail and the hand-over happens.
 */
function plainMatch(t: ParsedTemplate, text: string): Record<string, string> | null {
  const { literals, names } = t;
  if (names.length === 0) return text === t.text ? {} : null;
  const first = literals[0]!;
  const last = literals[literals.length - 1]!;
  if (first.length + last.length > text.length || !text.startsWith(first) || !text.endsWith(last)) return null;
  const end = text.length - last.length;
  const captures = new Map<string, string>();
  let pos = first.length;
  for (let i = 0; i < names.length; i++) {
    let value: string;
    if (i === names.length - 1) value = text.slice(pos, end);
    else {
      const literal = literals[i + 1]!;
      let at = -1;
      for (let p = pos; p + literal.length <= end; p++) {
        if (text.startsWith(literal, p)) { at = p; break; }
      }
      if (at < 0) return null;
      value = text.slice(pos, at);
      pos = at + literal.length;
    }
    const seen = captures.get(names[i]!);
    if (seen !== undefined && seen !== value) return null;
    captures.set(names[i]!, value);
  }
  return Object.fromEntries(captures);
}

const letters = (rng: Rng, n: number): string => Array.from({ length: n }, () => (rng.next() < 0.9 ? 'a' : 'b')).join('');
const pick = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng.next() * (hi - lo + 1));

function randomCase(rng: Rng): { template: string; text: string } {
  const holes = pick(rng, 1, 3);
  const names = Array.from({ length: holes }, (_, i) => (rng.next() < 0.15 && i > 0 ? 'p0' : `p${i}`));
  // Long literals (64+ characters) take the fast search; short ones the plain indexOf.
  const literal = (inner: boolean) => letters(rng, rng.next() < 0.7 ? pick(rng, 64, 180) : pick(rng, inner ? 1 : 0, 40));
  const literals = Array.from({ length: holes + 1 }, (_, i) => literal(i > 0 && i < holes));
  const template = literals.map((l, i) => (i < holes ? `${l}{${names[i]}}` : l)).join('');
  const value = () => (rng.next() < 0.3 ? literals[pick(rng, 0, holes)]!.slice(0, pick(rng, 0, 200)) : '') + letters(rng, pick(rng, 0, 400));
  const values = new Map(names.map((n) => [n, value()]));
  let text = literals.map((l, i) => (i < holes ? l + values.get(names[i]!)! : l)).join('');
  const r = rng.next();
  if (r < 0.3 && text.length > 0) {
    const at = pick(rng, 0, text.length - 1);
    text = `${text.slice(0, at)}${text[at] === 'a' ? 'b' : 'a'}${text.slice(at + 1)}`;
  } else if (r < 0.4) text = letters(rng, pick(rng, 0, 1500));
  return { template, text };
}

describe('template matching: fast literal search against a plain search', () => {
  it('gives the plain search\'s captures, or no match, on 5,000 random templates and texts', () => {
    const rng = createSeededRng(20261207);
    let matched = 0;
    for (let i = 0; i < 5000; i++) {
      const { template, text } = randomCase(rng);
      const t = parseTemplate(template);
      const expected = plainMatch(t, text);
      expect(matchTemplate(t, text), `case ${i}: ${template} / ${text}`).toEqual(expected);
      if (expected) matched++;
    }
    // Both outcomes are well represented.
    expect(matched).toBeGreaterThan(1000);
    expect(matched).toBeLessThan(4500);
  });

  it('finds a literal whose head occurs thousands of times before it (the hand-over to KMP)', () => {
    const literal = `${'a'.repeat(100)}b`;
    const t = parseTemplate(`x{v}${literal}{w}y`);
    const text = `x${'a'.repeat(50_000)}${literal}zy`;
    expect(matchTemplate(t, text)).toEqual(plainMatch(t, text));
    expect(matchTemplate(t, text)).toEqual({ v: 'a'.repeat(50_000), w: 'z' });
  });
});
