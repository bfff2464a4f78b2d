import { describe, expect, it } from 'vitest';
import { fmtClock, fmtReward, fmtTick, preview, scoreDigits } from '../../web/src/format.js';

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

describe('fmtTick (chart axis ticks)', () => {
  it('gives every tick the decimals its step needs: none on a 0-100 job\'s axis instead of "20.00"', () => {
    expect([0, 20, 40, 100].map((t) => fmtTick(t, 20))).toEqual(['0', '20', '40', '100']);
    expect([0, 0.25, 0.5, 1].map((t) => fmtTick(t, 0.25))).toEqual(['0.00', '0.25', '0.50', '1.00']);
    expect([0.2, 0.4].map((t) => fmtTick(t, 0.2))).toEqual(['0.2', '0.4']);
    // Small steps keep ticks apart ("0.00" twice said nothing); floating-point steps are read as meant.
    expect([0.002, 0.004].map((t) => fmtTick(t, 0.002))).toEqual(['0.002', '0.004']);
    expect(fmtTick(0.30000000000000004, 0.1)).toBe('0.3');
  });

  it('writes a negative tick with the minus sign the tables use', () => {
    expect(fmtTick(-0.5, 0.25)).toBe('−0.50');
    expect(fmtTick(-20, 10)).toBe('−20');
  });
});

describe('fmtClock (the event log\'s times)', () => {
  // Local dates, so the test holds in any time zone.
  const now = new Date(2026, 11, 6, 18, 0, 0).getTime();
  const at = (y: number, mo: number, d: number) => new Date(y, mo, d, 15, 3, 7).toISOString();

  it('gives today\'s events the time of day only', () => {
    expect(fmtClock(at(2026, 11, 6), now)).toBe('15:03:07');
  });

  it('puts the day in front of an event of another day: a job created days ago did not read as today', () => {
    expect(fmtClock(at(2026, 11, 3), now)).toBe('03/12 15:03:07');
    expect(fmtClock(at(2025, 11, 31), now)).toBe('31/12/2025 15:03:07');
  });
});

describe('scoreDigits (decimals of a job\'s scores)', () => {
  it('keeps three decimals on [0, 1] and drops one per factor of ten of the range\'s width', () => {
    expect(scoreDigits([0, 1])).toBe(3);
    expect(scoreDigits([-1, 1])).toBe(3);
    expect(scoreDigits([0, 10])).toBe(2);
    expect(scoreDigits([1, 5])).toBe(3);
    expect(scoreDigits([0, 100])).toBe(1);
    expect(scoreDigits([0, 1000])).toBe(0);
    expect(scoreDigits(null)).toBe(3);
  });
});

describe('fmtReward (a rollout\'s reward in its job\'s range)', () => {
  it('says the range, with the decimals the leaderboard gives its scores', () => {
    expect(fmtReward(7, [0, 10])).toBe('7.00 of 0–10');
    expect(fmtReward(0.75, [0, 1])).toBe('0.750 of 0–1');
    expect(fmtReward(63, [0, 100])).toBe('63.0 of 0–100');
    expect(fmtReward(-0.5, [-1, 1])).toBe('−0.500 of −1–1');
  });
  it('shows the value as sent when the range is not known', () => {
    expect(fmtReward(7, null)).toBe('7');
  });
});
