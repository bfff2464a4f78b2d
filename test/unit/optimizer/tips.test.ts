import { describe, expect, it } from 'vitest';
import { chooseTip, initialTipStats, TIP_IDS, TIP_TEXTS, tipOutcome, updateTipStats, statsOf } from '../../../src/optimizer/core/index.js';
import { createSeededRng } from '../../../src/shared/rng.js';

describe('tips', () => {
  it('has the six MIPRO tips, all but "none" with guidance text', () => {
    expect([...TIP_IDS]).toEqual(['none', 'creative', 'simple', 'description', 'high_stakes', 'persona']);
    expect(TIP_TEXTS.none).toBe('');
    for (const t of TIP_IDS.filter((t) => t !== 'none')) expect(TIP_TEXTS[t].length).toBeGreaterThan(20);
    expect(TIP_TEXTS.persona).toMatch(/You are/);
  });

  it('explores every tip while nothing is known', () => {
    const rng = createSeededRng(1);
    const seen = new Set(Array.from({ length: 300 }, () => chooseTip(initialTipStats(), rng)));
    expect(seen.size).toBe(6);
  });

  it('learns which tip produces children that beat their parents', () => {
    let stats = initialTipStats();
    for (let i = 0; i < 20; i++) {
      stats = updateTipStats(stats, 'persona', true);
      stats = updateTipStats(stats, 'creative', false);
    }
    const rng = createSeededRng(2);
    const picks = Array.from({ length: 500 }, () => chooseTip(stats, rng));
    expect(picks.filter((p) => p === 'persona').length).toBeGreaterThan(350);
    expect(picks.filter((p) => p === 'creative').length).toBeLessThan(5);
  });

  it('updates immutably', () => {
    const before = initialTipStats();
    const after = updateTipStats(before, 'simple', true);
    expect(before.simple).toEqual({ successes: 0, failures: 0 });
    expect(after.simple).toEqual({ successes: 1, failures: 0 });
  });

  it('judges a child only after R rewards', () => {
    const parent = statsOf([1, 0, 1, 0]);
    expect(tipOutcome(statsOf([1, 1]), parent, 3)).toBeNull();
    expect(tipOutcome(statsOf([1, 1, 0]), parent, 3)).toBe(true);
    expect(tipOutcome(statsOf([0, 1, 0]), parent, 3)).toBe(false);
  });
});
