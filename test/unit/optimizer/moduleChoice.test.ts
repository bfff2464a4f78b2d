import { describe, expect, it } from 'vitest';
import { chooseModule, type ModuleChoiceInput } from '../../../src/optimizer/core/moduleChoice.js';
import { createSeededRng } from '../../../src/shared/rng.js';

const stats = (n: number, mean: number) => ({ n, mean, m2: n * 0.25 });

function input(over: Partial<ModuleChoiceInput> = {}): ModuleChoiceInput {
  return {
    modules: ['extract', 'retrieve', 'answer'],
    candidates: [{ id: 'baseline', parentId: null, module: null, stats: stats(200, 0.5) }],
    proposalsByModule: {},
    rolloutsPerCandidate: 10,
    rewardVariance: 0.25,
    strategy: 'credit',
    ...over,
  };
}

describe('chooseModule', () => {
  it('sends most proposals to the module the app blames in feedback_by_module, after trying each once, whatever the strategy', () => {
    const rng = createSeededRng(3);
    const blame = { retrieve: 30, extract: 2 };
    // Not before every module was tried once.
    expect(chooseModule(input({ strategy: 'round_robin', blame, proposalsByModule: { extract: 1 } }), rng)).toBe('retrieve');
    expect(chooseModule(input({ strategy: 'round_robin', blame, proposalsByModule: { extract: 1, retrieve: 1 } }), rng)).toBe('answer');
    for (const strategy of ['round_robin', 'credit'] as const) {
      const tried = { extract: 3, retrieve: 5, answer: 3 };
      const picks = Array.from({ length: 300 }, () => chooseModule(input({ strategy, blame, proposalsByModule: tried }), rng));
      expect(picks.filter((m) => m === 'retrieve').length).toBeGreaterThan(270);
    }
    // Without blame, round-robin is unchanged.
    expect(chooseModule(input({ strategy: 'round_robin', blame: {}, proposalsByModule: { extract: 2, retrieve: 1, answer: 2 } }), rng)).toBe('retrieve');
  });

  it('round-robin takes the least-proposed module in call order', () => {
    const rng = createSeededRng(1);
    expect(chooseModule(input({ strategy: 'round_robin' }), rng)).toBe('extract');
    expect(chooseModule(input({ strategy: 'round_robin', proposalsByModule: { extract: 1 } }), rng)).toBe('retrieve');
    expect(chooseModule(input({ strategy: 'round_robin', proposalsByModule: { extract: 1, retrieve: 1, answer: 1 } }), rng)).toBe('extract');
  });

  it('credit tries every module once, then favours the module whose changes moved the reward', () => {
    const rng = createSeededRng(7);
    expect(chooseModule(input({ proposalsByModule: { extract: 1 } }), rng)).toBe('retrieve');
    const tried = {
      proposalsByModule: { extract: 2, retrieve: 2, answer: 2 },
      candidates: [
        { id: 'baseline', parentId: null, module: null, stats: stats(400, 0.5) },
        { id: 'c1', parentId: 'baseline', module: 'extract', stats: stats(200, 0.5) },
        { id: 'c2', parentId: 'baseline', module: 'retrieve', stats: stats(200, 0.68) },
        { id: 'c3', parentId: 'baseline', module: 'answer', stats: stats(200, 0.45) },
      ],
    };
    const picks = Array.from({ length: 400 }, () => chooseModule(input(tried), rng));
    const share = picks.filter((m) => m === 'retrieve').length / picks.length;
    expect(share).toBeGreaterThan(0.9);
  });

  it('credit favours a module whose changes moved the reward either way over one whose changes did nothing', () => {
    const rng = createSeededRng(11);
    const picks = Array.from({ length: 400 }, () => chooseModule(input({
      proposalsByModule: { extract: 2, retrieve: 2, answer: 2 },
      candidates: [
        { id: 'baseline', parentId: null, module: null, stats: stats(400, 0.5) },
        { id: 'c1', parentId: 'baseline', module: 'extract', stats: stats(100, 0.5) },
        { id: 'c2', parentId: 'baseline', module: 'extract', stats: stats(100, 0.51) },
        { id: 'c3', parentId: 'baseline', module: 'retrieve', stats: stats(100, 0.3) },
        { id: 'c4', parentId: 'baseline', module: 'retrieve', stats: stats(100, 0.55) },
        { id: 'c5', parentId: 'baseline', module: 'answer', stats: stats(100, 0.49) },
      ],
    }), rng));
    expect(picks.filter((m) => m === 'retrieve').length / picks.length).toBeGreaterThan(0.9);
  });

  it('ignores children that are not measured yet and never chooses outside the given modules', () => {
    const rng = createSeededRng(3);
    const picks = new Set(Array.from({ length: 200 }, () => chooseModule(input({
      proposalsByModule: { extract: 1, retrieve: 1, answer: 1 },
      candidates: [
        { id: 'baseline', parentId: null, module: null, stats: stats(100, 0.5) },
        { id: 'c1', parentId: 'baseline', module: 'answer', stats: stats(1, 1) },
      ],
    }), rng)));
    expect(picks).toEqual(new Set(['extract', 'retrieve', 'answer']));
    expect(chooseModule(input({ modules: [] }), rng)).toBeNull();
    expect(chooseModule(input({ modules: ['only'] }), rng)).toBe('only');
  });
});
