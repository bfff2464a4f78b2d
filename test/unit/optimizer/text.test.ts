import { describe, expect, it } from 'vitest';
import { headOf, truncate } from '../../../src/optimizer/core/text.js';

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
});
