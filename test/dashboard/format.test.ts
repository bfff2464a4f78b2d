import { describe, expect, it } from 'vitest';
import { preview } from '../../web/src/format.js';

describe('preview (collapsed instruction text)', () => {
  it('never cuts a character made of two UTF-16 units in half', () => {
    // 78 ASCII characters then emoji: cutting at 79 code units kept half of the first emoji, a lone
    // surrogate the browser draws as a replacement box.
    const text = `${'a'.repeat(78)}😀😀😀`;
    const p = preview(text, 80);
    expect(p.endsWith('…')).toBe(true);
    expect(p).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(p).toBe(`${'a'.repeat(78)}…`);
  });

  it('keeps short text and whole emoji as they are', () => {
    expect(preview('  Réponds   en français 🇫🇷 ', 80)).toBe('Réponds en français 🇫🇷');
  });
});
