import { describe, expect, it } from 'vitest';
import {
  bestScore,
  confirmationTargets,
  emptyStats,
  liftOverControl,
  pickChampion,
  shrunkenMeans,
  statsOf,
  type LiftSide,
} from '../../../src/optimizer/core/index.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import { bernoulliRewards, candidate } from './helpers.js';

const R = 10;
const arm = (id: string, n: number, p: number, order: number, over = {}) =>
  candidate(id, { rewards: bernoulliRewards(n, p), createdOrder: order, ...over });

describe('pickChampion', () => {
  it('prefers a well-measured good candidate over the raw maximum of a small sample', () => {
    const candidates = [arm('baseline', 500, 0.7, 0), arm('steady', 1000, 0.86, 1), arm('lucky', R, 1, 2)];
    expect(pickChampion(candidates, R)).toBe('steady');
  });

  it('lets a small sample win once the evidence is strong enough', () => {
    const candidates = [arm('baseline', 500, 0.7, 0), arm('steady', 1000, 0.72, 1), arm('clear', 3 * R, 1, 2)];
    expect(pickChampion(candidates, R)).toBe('clear');
  });

  it('only considers active candidates with at least R rewards, else the baseline', () => {
    expect(pickChampion([arm('baseline', 50, 0.5, 0), arm('young', R - 1, 1, 1)], R)).toBe('baseline');
    expect(pickChampion([arm('baseline', 50, 0.5, 0), arm('gone', 500, 0.9, 1, { status: 'retired' })], R)).toBe('baseline');
    expect(pickChampion([candidate('baseline')], R)).toBe('baseline');
    expect(pickChampion([], R)).toBeNull();
  });

  it('shrinks small samples: among equal arms the pick is not overstated like the raw maximum', () => {
    // 8 identical arms (p = 0.6): one with 400 rewards, seven with R. The raw maximum is almost
    // always a small-sample arm and overstates p by about 0.25; the champion's shrunken mean does not.
    const rng = createSeededRng(4);
    let rawBias = 0;
    let shrunkBias = 0;
    const runs = 200;
    for (let run = 0; run < runs; run++) {
      const arms = Array.from({ length: 8 }, (_, i) => {
        const n = i === 0 ? 400 : R;
        return candidate(i === 0 ? 'baseline' : `c${i}`, { rewards: Array.from({ length: n }, () => (rng.next() < 0.6 ? 1 : 0)), createdOrder: i });
      });
      rawBias += Math.max(...arms.map((a) => a.stats.mean)) - 0.6;
      const champion = pickChampion(arms, R)!;
      shrunkBias += shrunkenMeans(arms).get(champion)! - 0.6;
    }
    expect(rawBias / runs).toBeGreaterThan(0.2);
    expect(shrunkBias / runs).toBeLessThan(0.06);
  });
});

describe('confirmationTargets', () => {
  it('is empty while the control is champion, else champion, control and runner-up', () => {
    expect(confirmationTargets([arm('baseline', 100, 0.8, 0), arm('a', 100, 0.5, 1)], R)).toEqual([]);
    const c = [arm('baseline', 100, 0.5, 0), arm('a', 100, 0.8, 1), arm('b', 100, 0.7, 2), arm('c', 100, 0.6, 3)];
    expect(confirmationTargets(c, R)).toEqual(['a', 'baseline', 'b']);
  });
});

describe('bestScore', () => {
  const online = statsOf(bernoulliRewards(200, 0.7));
  it('reports the val mean with a fixed-n interval when val rollouts exist', () => {
    const s = bestScore({ stats: online, val: statsOf(bernoulliRewards(50, 0.8)), unitInterval: true });
    expect(s.source).toBe('val');
    expect(s.score).toBeCloseTo(0.8, 10);
    expect(s.ci![0]).toBeLessThan(0.8);
    expect(s.ci![1]).toBeGreaterThan(0.8);
  });

  it('falls back to the online mean with its anytime-valid interval, and nulls before any reward', () => {
    const s = bestScore({ stats: online, val: emptyStats(), unitInterval: true });
    expect(s.source).toBe('online');
    expect(s.score).toBeCloseTo(0.7, 10);
    expect(s.ci![1] - s.ci![0]).toBeGreaterThan(2 * 1.96 * Math.sqrt(0.21 / 200));
    expect(bestScore({ stats: emptyStats(), val: emptyStats(), unitInterval: true })).toEqual({ score: null, ci: null, source: null });
    expect(bestScore(null)).toEqual({ score: null, ci: null, source: null });
  });
});

describe('liftOverControl', () => {
  const side = (online: number[], val: Record<number, number>): LiftSide => ({
    stats: statsOf(online),
    val: statsOf(Object.values(val)),
    valBySeed: val,
    unitInterval: true,
  });

  it('pairs on shared val seeds, which is tighter than the unpaired interval', () => {
    // Seed difficulty dominates: both fail the hard seeds; the champion also solves some medium ones.
    const seeds = Array.from({ length: 100 }, (_, i) => i);
    const control: Record<number, number> = {};
    const champion: Record<number, number> = {};
    for (const s of seeds) {
      control[s] = s < 50 ? 1 : 0;
      champion[s] = s < 60 ? 1 : 0;
    }
    const paired = liftOverControl(side([1, 0], champion), side([1, 0], control))!;
    expect(paired).toMatchObject({ paired: true, source: 'val', n: 100, significant: true });
    expect(paired.lift).toBeCloseTo(0.1, 10);
    const unpairedChampion = { ...side([1, 0], champion), valBySeed: undefined };
    const unpaired = liftOverControl(unpairedChampion, side([1, 0], control))!;
    expect(unpaired.paired).toBe(false);
    expect(unpaired.significant).toBe(false);
    expect(unpaired.ci[1] - unpaired.ci[0]).toBeGreaterThan(2 * (paired.ci[1] - paired.ci[0]));
  });

  it('is not significant on a handful of identical differences', () => {
    const r = liftOverControl(side([1], { 1: 1, 2: 1 }), side([0], { 1: 0, 2: 0 }))!;
    expect(r.paired).toBe(true);
    expect(r.significant).toBe(false);
  });

  it('is not significant on one reward per side outside [0, 1], nor on a few identical val scores', () => {
    const scores = (online: number[], val: Record<number, number>): LiftSide => ({ ...side(online, val), unitInterval: false });
    expect(liftOverControl(scores([5], {}), scores([4], {}))!.significant).toBe(false);
    expect(liftOverControl(scores([5], { 1: 5, 2: 5, 3: 5 }), scores([4], { 1: 4, 2: 4, 3: 4 }))!.significant).toBe(false);
    const many = (value: number) => Object.fromEntries(Array.from({ length: 60 }, (_, i) => [i, value + (i % 2)]));
    expect(liftOverControl(scores([5], many(4)), scores([4], many(2)))!.significant).toBe(true);
  });

  it('uses online data with anytime-valid radii when there is no val data', () => {
    const r = liftOverControl(side(bernoulliRewards(400, 0.8), {}), side(bernoulliRewards(400, 0.5), {}))!;
    expect(r).toMatchObject({ source: 'online', paired: false, significant: true });
    const close = liftOverControl(side(bernoulliRewards(400, 0.55), {}), side(bernoulliRewards(400, 0.5), {}))!;
    expect(close.significant).toBe(false);
    expect(liftOverControl(side([], {}), side([1], {}))).toBeNull();
  });

  it('rarely reports a significant lift between equal candidates (paired val, null simulation)', () => {
    const rng = createSeededRng(12);
    let significant = 0;
    const runs = 400;
    for (let run = 0; run < runs; run++) {
      const a: Record<number, number> = {};
      const b: Record<number, number> = {};
      for (let s = 0; s < 60; s++) {
        const p = 1 / (1 + Math.exp(-(rng.next() * 4 - 2)));
        a[s] = rng.next() < p ? 1 : 0;
        b[s] = rng.next() < p ? 1 : 0;
      }
      if (liftOverControl(side([1], a), side([1], b))!.significant) significant += 1;
    }
    expect(significant / runs).toBeLessThanOrEqual(0.05);
  });
});
