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

  it('credit favours the module whose changes moved the reward, once every module was tried', () => {
    const rng = createSeededRng(7);
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
    expect(picks.filter((m) => m === 'retrieve').length / picks.length).toBeGreaterThan(0.9);
  });

  it('credit turns from a module whose proposals keep failing (no child made), and is unchanged without failures', () => {
    const candidates = [
      { id: 'baseline', parentId: null, module: null, stats: stats(400, 0.5) },
      { id: 'c1', parentId: 'baseline', module: 'extract', stats: stats(200, 0.5) },
      { id: 'c2', parentId: 'baseline', module: 'retrieve', stats: stats(200, 0.68) },
      { id: 'c3', parentId: 'baseline', module: 'answer', stats: stats(200, 0.40) },
    ];
    // retrieve moved the reward most, but four of its five tries were refused: answer, the next mover, takes over.
    const failing = input({ candidates, proposalsByModule: { extract: 1, retrieve: 5, answer: 1 }, failedByModule: { retrieve: 4 } });
    const rng = createSeededRng(11);
    const picks = Array.from({ length: 200 }, () => chooseModule(failing, rng));
    expect(picks.filter((m) => m === 'retrieve').length).toBe(0);
    expect(picks.filter((m) => m === 'answer').length).toBe(200);
    // No failures (or failures counted as zero): the same choice as without the field, draw for draw.
    const plain = input({ candidates, proposalsByModule: { extract: 1, retrieve: 1, answer: 1 } });
    const [a, b] = [createSeededRng(5), createSeededRng(5)];
    for (let i = 0; i < 50; i++) expect(chooseModule({ ...plain, failedByModule: { retrieve: 0 } }, a)).toBe(chooseModule(plain, b));
  });

  it('credit tries every module once, in call order, whatever the first children showed', () => {
    const rng = createSeededRng(5);
    expect(new Set(Array.from({ length: 100 }, () => chooseModule(input(), rng)))).toEqual(new Set(['extract']));
    // extract's one child moved the reward by 18 points on 200 rewards: retrieve, then answer, are still tried.
    // (Without the round, any module's regressions kept every proposal on the first module tried.)
    const base = { id: 'baseline', parentId: null, module: null, stats: stats(400, 0.5) };
    const moved = { id: 'c1', parentId: 'baseline', module: 'extract', stats: stats(200, 0.68) };
    const afterExtract = input({ proposalsByModule: { extract: 1 }, candidates: [base, moved] });
    expect(new Set(Array.from({ length: 100 }, () => chooseModule(afterExtract, rng)))).toEqual(new Set(['retrieve']));
    const afterRetrieve = input({ proposalsByModule: { extract: 1, retrieve: 1 }, candidates: [base, moved] });
    expect(chooseModule(afterRetrieve, rng)).toBe('answer');
    const afterAll = input({ proposalsByModule: { extract: 1, retrieve: 1, answer: 1 }, candidates: [base, moved] });
    expect(new Set(Array.from({ length: 100 }, () => chooseModule(afterAll, rng)))).toEqual(new Set(['extract']));
  });

  it("credit counts one parent's children as one piece of evidence about the parent's noise", () => {
    // Both retrieve children sit 0.15 below a parent measured on 10 rewards: a lucky parent explains
    // that as well as a module that moves the reward. answer's two children differ from each other by
    // 0.3 under a well-measured parent: that module moves the reward.
    const rng = createSeededRng(9);
    const picks = Array.from({ length: 200 }, () => chooseModule(input({
      proposalsByModule: { extract: 1, retrieve: 1, answer: 1 },
      candidates: [
        { id: 'baseline', parentId: null, module: null, stats: stats(1000, 0.5) },
        { id: 'lucky', parentId: 'baseline', module: 'extract', stats: stats(10, 0.65) },
        { id: 'r1', parentId: 'lucky', module: 'retrieve', stats: stats(60, 0.5) },
        { id: 'r2', parentId: 'lucky', module: 'retrieve', stats: stats(60, 0.5) },
        { id: 'a1', parentId: 'baseline', module: 'answer', stats: stats(60, 0.35) },
        { id: 'a2', parentId: 'baseline', module: 'answer', stats: stats(60, 0.65) },
      ],
    }), rng));
    expect(new Set(picks)).toEqual(new Set(['answer']));
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
