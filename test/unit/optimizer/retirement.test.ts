import { describe, expect, it } from 'vitest';
import { addObservation, candidateAlpha, candidatesToRetire, confidenceSequence, statsOf } from '../../../src/optimizer/core/index.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import { bernoulliRewards, candidate } from './helpers.js';

const R = 10;
const arm = (id: string, n: number, p: number, order: number, over = {}) =>
  candidate(id, { rewards: bernoulliRewards(n, p), createdOrder: order, ...over });

describe('candidatesToRetire', () => {
  it('retires a candidate whose upper bound is below the leader lower bound', () => {
    const ids = candidatesToRetire([arm('baseline', 400, 0.5, 0), arm('good', 400, 0.8, 1), arm('bad', 400, 0.2, 2)], {
      rolloutsPerCandidate: R,
    });
    expect(ids).toEqual(['bad']);
  });

  it('does not retire on a few identical rewards outside [0, 1], but does on enough evidence', () => {
    const likert = (id: string, rewards: number[], order: number) => candidate(id, { rewards, createdOrder: order, unitInterval: false });
    // A 1-5 score: three 4s against three 3s have sample variance 0, which is no evidence of a gap.
    expect(candidatesToRetire([likert('baseline', [4, 4, 4], 0), likert('c1', [3, 3, 3], 1)], { rolloutsPerCandidate: 3 })).toEqual([]);
    // One unbounded reward anywhere puts every candidate on the unbounded scale: a 0/1 candidate with
    // three zeros is not retired on that alone either.
    expect(candidatesToRetire([likert('baseline', [2, 1, 1], 0), candidate('c2', { rewards: [0, 0, 0], createdOrder: 1 })], { rolloutsPerCandidate: 3 })).toEqual([]);
    const many = (values: number[], n: number) => Array.from({ length: n }, (_, i) => values[i % values.length]!);
    expect(candidatesToRetire([likert('baseline', many([4, 5], 200), 0), likert('c1', many([2, 3], 200), 1)], { rolloutsPerCandidate: 3 })).toEqual(['c1']);
  });

  it('never retires the control, however bad', () => {
    const ids = candidatesToRetire([arm('baseline', 1000, 0.05, 0), arm('good', 1000, 0.95, 1)], { rolloutsPerCandidate: R });
    expect(ids).toEqual([]);
  });

  it('waits for R rewards before judging a candidate', () => {
    const ids = candidatesToRetire([arm('baseline', 1000, 0.9, 0), arm('young', R - 1, 0, 1)], { rolloutsPerCandidate: R });
    expect(ids).toEqual([]);
  });

  it('does not retire candidates whose intervals still overlap the leader', () => {
    const ids = candidatesToRetire([arm('baseline', 100, 0.5, 0), arm('a', 100, 0.6, 1), arm('b', 100, 0.45, 2)], {
      rolloutsPerCandidate: R,
    });
    expect(ids).toEqual([]);
  });

  it('ignores retired candidates when picking the leader', () => {
    const ids = candidatesToRetire(
      [arm('baseline', 400, 0.5, 0), arm('gone', 400, 0.95, 1, { status: 'retired' }), arm('c', 400, 0.45, 2)],
      { rolloutsPerCandidate: R },
    );
    expect(ids).toEqual([]);
  });

  it('spends delta as delta / (k (k + 1)), so later candidates need stronger evidence', () => {
    expect(candidateAlpha(0)).toBeCloseTo(0.025, 12);
    expect(candidateAlpha(1)).toBeCloseTo(0.05 / 6, 12);
    let total = 0;
    for (let k = 0; k < 100_000; k++) total += candidateAlpha(k);
    expect(total).toBeLessThanOrEqual(0.05);
    expect(total).toBeGreaterThan(0.0499);
    // Same data, later creation order: an early candidate is retired, a late one not yet.
    const leader = arm('baseline', 300, 0.75, 0);
    const early = candidatesToRetire([leader, arm('early', 300, 0.5, 1)], { rolloutsPerCandidate: R });
    const late = candidatesToRetire([leader, arm('late', 300, 0.5, 200)], { rolloutsPerCandidate: R });
    expect(early).toEqual(['early']);
    expect(late).toEqual([]);
  });

  it('rarely retires an equally good candidate under repeated looks (null simulation)', () => {
    const rng = createSeededRng(77);
    const runs = 200;
    let wrongful = 0;
    for (let run = 0; run < runs; run++) {
      const cands = [0, 1, 2, 3].map((i) => candidate(i === 0 ? 'baseline' : `c${i}`, { createdOrder: i }));
      let retired = false;
      for (let t = 0; t < 600 && !retired; t++) {
        for (const c of cands) c.stats = addObservation(c.stats, rng.next() < 0.6 ? 1 : 0);
        retired = candidatesToRetire(cands, { rolloutsPerCandidate: R }).length > 0;
      }
      if (retired) wrongful += 1;
    }
    expect(wrongful / runs).toBeLessThanOrEqual(0.05);
  });

  it('uses the same interval the retirement decision is based on', () => {
    const c = arm('x', 200, 0.4, 3);
    const [lo, hi] = confidenceSequence(statsOf(bernoulliRewards(200, 0.4)), candidateAlpha(3), true);
    expect(lo).toBeLessThan(c.stats.mean);
    expect(hi).toBeGreaterThan(c.stats.mean);
  });
});
