import { describe, expect, it } from 'vitest';
import { createSeededRng } from '../../../src/shared/rng.js';
import { bernoulliConfidenceSequence, missingRewardVerdicts, type MissingCandidate } from '../../../src/optimizer/core/missingRewards.js';
import { pickChampion } from '../../../src/optimizer/core/champion.js';

const cand = (id: string, createdOrder: number, due: number, missing: number): MissingCandidate =>
  ({ id, isControl: createdOrder === 0, createdOrder, missing: { due, missing } });

describe('bernoulliConfidenceSequence', () => {
  it.each([
    [0, 10], [3, 10], [10, 10], [50, 1000], [0, 1], [500, 1000],
  ])('%i of %i: contains k/n, stays in [0, 1], is one-sided at 0 and n', (k, n) => {
    const [lo, hi] = bernoulliConfidenceSequence(k, n, 0.05);
    expect(lo).toBeLessThanOrEqual(k / n);
    expect(hi).toBeGreaterThanOrEqual(k / n);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    if (k === 0) expect(lo).toBe(0);
    if (k === n) expect(hi).toBe(1);
  });

  it('narrows as n grows and is wider than a fixed-n interval (it holds at every n at once)', () => {
    const width = (k: number, n: number) => { const [lo, hi] = bernoulliConfidenceSequence(k, n, 0.05); return hi - lo; };
    expect(width(10, 100)).toBeGreaterThan(width(100, 1000));
    expect(width(100, 1000)).toBeGreaterThan(width(1000, 10000));
    // Wald at n = 1000, p = 0.1: +-0.0186; the sequence pays for validity at every n.
    expect(width(100, 1000)).toBeGreaterThan(2 * 0.0186);
    expect(width(100, 1000)).toBeLessThan(0.12);
  });
});

describe('missingRewardVerdicts', () => {
  it.each([
    ['equal rates', [cand('baseline', 0, 500, 50), cand('c1', 1, 500, 50)], { baseline: false, c1: false }],
    ['a child losing 40% against the control 5%', [cand('baseline', 0, 500, 25), cand('c1', 1, 500, 200)], { baseline: false, c1: true }],
    ['the same rates on 10 rollouts: not enough evidence', [cand('baseline', 0, 10, 0), cand('c1', 1, 10, 4)], { baseline: false, c1: false }],
    ['the control losing more is never flagged', [cand('baseline', 0, 500, 200), cand('c1', 1, 500, 25)], { baseline: false, c1: false }],
    ['a child losing fewer than the control', [cand('baseline', 0, 500, 100), cand('c1', 1, 500, 10)], { baseline: false, c1: false }],
    ['no rollouts due yet', [cand('baseline', 0, 0, 0), cand('c1', 1, 0, 0)], { baseline: false, c1: false }],
    ['a late child spends a smaller share of delta', [cand('baseline', 0, 300, 15), cand('c1', 1, 300, 70), cand('c9', 9, 300, 70)], { baseline: false, c1: true, c9: false }],
  ] as const)('%s', (_name, candidates, expected) => {
    const verdicts = missingRewardVerdicts(candidates);
    expect(Object.fromEntries([...verdicts].map(([id, v]) => [id, v.flagged]))).toEqual(expected);
  });

  it('reports each rate (null before any rollout is due)', () => {
    const verdicts = missingRewardVerdicts([cand('baseline', 0, 200, 20), cand('c1', 1, 0, 0)]);
    expect(verdicts.get('baseline')?.rate).toBeCloseTo(0.1, 12);
    expect(verdicts.get('c1')?.rate).toBeNull();
  });

  it('without a control nothing is flagged', () => {
    const verdicts = missingRewardVerdicts([{ ...cand('c1', 1, 500, 400) }, { ...cand('c2', 2, 500, 10) }]);
    expect([...verdicts.values()].every((v) => !v.flagged)).toBe(true);
  });

  /**
   * Repeated looks: the verdict is re-computed on every refresh. In the null world (both lose 10% of
   * rewards) a candidate must be flagged at some look in at most delta = 5% of runs; a child losing
   * 25% must be caught in most runs by 2,000 rollouts each.
   */
  it('stays honest over repeated looks and catches a real gap (seeded simulation)', () => {
    const runs = 300;
    const everFlagged = (childRate: number, seed: number): number => {
      const rng = createSeededRng(seed);
      let flaggedRuns = 0;
      for (let r = 0; r < runs; r++) {
        let [baseMissing, childMissing] = [0, 0];
        for (let n = 1; n <= 2000; n++) {
          if (rng.next() < 0.1) baseMissing++;
          if (rng.next() < childRate) childMissing++;
          if (n % 20 !== 0) continue; // a look every 20 rollouts: 100 looks per run
          const v = missingRewardVerdicts([cand('baseline', 0, n, baseMissing), cand('c1', 1, n, childMissing)]);
          if (v.get('c1')?.flagged) { flaggedRuns++; break; }
        }
      }
      return flaggedRuns / runs;
    };
    const falseFlags = everFlagged(0.1, 7);
    const power = everFlagged(0.25, 8);
    console.log(`missing rewards: ever flagged in the null world ${(100 * falseFlags).toFixed(1)}% (100 looks), caught 25% vs 10% in ${(100 * power).toFixed(1)}%`);
    expect(falseFlags).toBeLessThanOrEqual(0.05);
    expect(power).toBeGreaterThanOrEqual(0.9);
  });
});

describe('pickChampion with excluded candidates', () => {
  const view = (id: string, order: number, mean: number) => ({
    id, isControl: order === 0, status: 'active' as const, createdOrder: order, stats: { n: 200, mean, m2: 200 * mean * (1 - mean) }, unitInterval: true,
  });
  it('passes over a flagged candidate, falling back to the next best or the control', () => {
    const pool = [view('baseline', 0, 0.5), view('c1', 1, 0.8), view('c2', 2, 0.6)];
    expect(pickChampion(pool, 10)).toBe('c1');
    expect(pickChampion(pool, 10, { excluded: new Set(['c1']) })).toBe('c2');
    expect(pickChampion(pool, 10, { excluded: new Set(['c1', 'c2']) })).toBe('baseline');
  });
});
