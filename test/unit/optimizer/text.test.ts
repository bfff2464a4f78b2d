import { describe, expect, it } from 'vitest';
import { hasLoneSurrogate, headOf, truncate, wellFormed } from '../../../src/optimizer/core/text.js';

describe('cutting texts', () => {
  it('never splits a surrogate pair (half an emoji is not valid Unicode)', () => {
    const text = `ab${'😀'.repeat(3)}`; // each emoji is two UTF-16 units
    expect(headOf(text, 3)).toBe('ab');
    expect(headOf(text, 4)).toBe('ab😀');
    expect(headOf(text, 100)).toBe(text);
    expect(headOf(text, 0)).toBe('');
    expect(truncate(text, 3)).toBe('ab …[6 more characters]');
    expect(truncate('abcdef', 4)).toBe('abcd …[2 more characters]');
  });

  it('replaces lone surrogates (never a whole pair) with U+FFFD, in linear time', () => {
    expect(wellFormed('a\ud83d')).toBe('a\ufffd');
    expect(wellFormed('\ude00b')).toBe('\ufffdb');
    expect(wellFormed('\ud83d\ud83d\ude00')).toBe('\ufffd😀');
    expect(wellFormed('ok 😀')).toBe('ok 😀');
    expect(hasLoneSurrogate('ok 😀')).toBe(false);
    expect(hasLoneSurrogate('ok \ude00')).toBe(true);
    const big = '\ud83d'.repeat(500_000);
    expect(wellFormed(big)).toBe('\ufffd'.repeat(500_000));
  });
});
