import { describe, expect, it } from 'vitest';
import { pickChampion } from '../../../src/optimizer/core/champion.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import { lowerBoundPick, steeredPolicy, treePick } from '../pipelineCeiling.js';
import type { Policy, SimArm } from '../types.js';

const arm = (id: string, trueMean: number, n: number, mean: number, status: 'active' | 'retired' = 'active', parentId: string | null = id === 'baseline' ? null : 'baseline'): SimArm =>
  ({ id, trueMean, status, parentId, isControl: id === 'baseline', createdOrder: 0, stats: { n, mean, m2: n * mean * (1 - mean) }, seedStats: undefined, unitInterval: true }) as unknown as SimArm;

describe('pipeline-3 ceiling study', () => {
  const R = 10;
  it('the lower-bound pick distrusts a lucky program measured on a few dozen rewards; the shrunken mean does not', () => {
    const arms = [arm('baseline', 0.7, 1000, 0.7), arm('lucky', 0.7, 30, 0.9), arm('solid', 0.75, 2000, 0.75)];
    expect(pickChampion(arms, R)).toBe('lucky');
    expect(lowerBoundPick(arms, R)).toBe('solid');
  });

  it('the lower-bound pick still takes a well-measured better program, and never an unranked or retired one', () => {
    expect(lowerBoundPick([arm('baseline', 0.7, 1000, 0.7), arm('a', 0.75, 2000, 0.75), arm('b', 0.8, 1000, 0.8)], R)).toBe('b');
    expect(lowerBoundPick([arm('baseline', 0.7, 1000, 0.7), arm('new', 0.9, 9, 1), arm('gone', 0.9, 900, 0.9, 'retired')], R)).toBe('baseline');
  });

  it('the family-tree pick pulls a little-measured child toward its well-measured parent, and takes a well-measured better program', () => {
    // lucky: +0.10 over its parent on 30 rewards; solid: +0.04 on 2,000. The shrunken mean takes lucky.
    const arms = [arm('baseline', 0.7, 2000, 0.7), arm('solid', 0.74, 2000, 0.74), arm('lucky', 0.7, 30, 0.8)];
    expect(pickChampion(arms, R)).toBe('lucky');
    expect(treePick(arms, R)).toBe('solid');
    // The same +0.10 measured on 2,000 rewards stands.
    arms[2]!.stats = { n: 2000, mean: 0.8, m2: 2000 * 0.8 * 0.2 };
    expect(treePick(arms, R)).toBe('lucky');
    // A grandchild inherits its parent's evidence: with few rewards of its own it stays near it.
    const family = [arm('baseline', 0.7, 2000, 0.7), arm('parent', 0.6, 2000, 0.6), arm('grandchild', 0.6, 20, 0.85, 'active', 'parent'), arm('solid', 0.74, 2000, 0.74)];
    expect(treePick(family, R)).toBe('solid');
  });

  it('steers by the true means only once the pool is final, in stints of R rollouts', () => {
    const inner: Policy = {
      name: 'inner', confirmsOnVal: false, select: () => 'inner', retire: () => [], confirmationTargets: () => [],
      report: () => ({ championId: 'inner', ci: null, significantLift: false }),
    };
    const cfg = { rolloutsPerCandidate: R, maxCandidates: 4 } as Parameters<typeof steeredPolicy>[2];
    const policy = steeredPolicy(inner, { name: 'top 2', steerTop: 2, pick: 'miprox' }, cfg, createSeededRng(1));
    const pool = [arm('baseline', 0.5, 100, 0.5), arm('c1', 0.6, 100, 0.6), arm('c2', 0.7, 50, 0.7)];
    expect(policy.select(pool, 0)).toBe('inner');
    const final = [...pool, arm('c3', 0.65, 20, 0.65)];
    // The true top two are c2 and c3 (never c1 or the baseline); the less measured serves a whole stint.
    expect(Array.from({ length: R }, (_, t) => policy.select(final, t))).toEqual(Array(R).fill('c3'));
    final[3]!.stats.n = 200;
    expect(Array.from({ length: R }, (_, t) => policy.select(final, t))).toEqual(Array(R).fill('c2'));
  });
});
