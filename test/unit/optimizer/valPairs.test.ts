import { describe, expect, it } from 'vitest';
import { contemporaneousSeeds, liftOverControl, MAX_RUNS_BETWEEN, statsOf, type LiftSide } from '../../../src/optimizer/core/index.js';
import { createSeededRng } from '../../../src/shared/rng.js';

/**
 * Drifting traffic (issue 12): a val seed pairs champion and control only when both ran it at the
 * same time. A champion confirmed long after the control ran the shared seeds (for an earlier
 * champion) is compared with older traffic, and every such pair carries the drift in one direction.
 */

const times = (seeds: readonly number[], at: (seed: number, i: number) => number): Record<number, number> =>
  Object.fromEntries(seeds.map((s, i) => [s, at(s, i)]));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('contemporaneousSeeds', () => {
  it('pairs seeds run one after the other, tolerates one run out of turn, and leaves out a seed run long before', () => {
    // Lockstep: control, champion, control, champion... on seeds 0..3.
    expect(contemporaneousSeeds(times(range(4), (s) => 2 * s + 1), times(range(4), (s) => 2 * s))).toEqual([0, 1, 2, 3]);
    // The champion ran 0 and 1 before the control ran either: one run lies between each pair.
    expect(MAX_RUNS_BETWEEN).toBe(1);
    expect(contemporaneousSeeds({ 0: 0, 1: 1 }, { 0: 2, 1: 3 })).toEqual([0, 1]);
    // Two runs between the runs of seed 1 (at 1 and 4), one for seeds 0 and 2.
    expect(contemporaneousSeeds({ 0: 0, 1: 1, 2: 3 }, { 0: 2, 1: 4, 2: 5 })).toEqual([0, 2]);
    // The control ran 0..9 for an earlier champion, then ran 10 and 11 alongside this one.
    const control = times(range(12), (s) => (s < 10 ? s : 100 + 2 * (s - 10) + 1));
    const champion = times(range(12), (s) => (s < 10 ? 50 + s : 100 + 2 * (s - 10)));
    expect(contemporaneousSeeds(champion, control)).toEqual([10, 11]);
  });

  it('counts runs stamped with the same time as contemporaneous, and needs a seed on both sides', () => {
    expect(contemporaneousSeeds({ 0: 5, 1: 5, 2: 5 }, { 0: 5, 1: 5, 2: 5, 3: 5 })).toEqual([0, 1, 2]);
    expect(contemporaneousSeeds({ 0: 0 }, { 1: 1 })).toEqual([]);
    expect(contemporaneousSeeds({}, {})).toEqual([]);
  });
});

describe('liftOverControl under drift', () => {
  const side = (val: Record<number, number>, at?: Record<number, number>): LiftSide => ({
    stats: statsOf([1, 0]),
    val: statsOf(Object.values(val)),
    valBySeed: val,
    ...(at ? { valAtBySeed: at } : {}),
    unitInterval: true,
  });
  // Equal candidates; traffic got easier between the control's runs and the champion's: a tenth of
  // the seeds the control failed, the champion (run later) solves.
  const seeds = range(100);
  const control = Object.fromEntries(seeds.map((s) => [s, s % 10 < 5 ? 1 : 0]));
  const champion = Object.fromEntries(seeds.map((s) => [s, s % 10 < 6 ? 1 : 0]));

  it('does not pair a champion with control runs made long before it: the drift is no improvement', () => {
    // Without run times every shared seed pairs, and the drift reads as a significant improvement.
    expect(liftOverControl(side(champion), side(control))).toMatchObject({ paired: true, source: 'val', significant: true });
    const stale = liftOverControl(side(champion, times(seeds, (s) => 1000 + s)), side(control, times(seeds, (s) => s)))!;
    expect(stale.significant).toBe(false);
    // Nor does it fall back to comparing the two val means, taken at different times as well.
    expect(stale.source).toBe('online');
  });

  it('pairs the same rewards when they were run side by side, and counts only those pairs', () => {
    const lockstep = liftOverControl(side(champion, times(seeds, (s) => 2 * s)), side(control, times(seeds, (s) => 2 * s + 1)))!;
    expect(lockstep).toMatchObject({ paired: true, source: 'val', n: 100, significant: true });
    expect(lockstep.lift).toBeCloseTo(0.1, 10);
    // Half of them run side by side (seeds 50..99), half long before by the control.
    const half = liftOverControl(
      side(champion, times(seeds, (s) => (s < 50 ? 1000 + s : 2000 + 2 * s))),
      side(control, times(seeds, (s) => (s < 50 ? s : 2000 + 2 * s + 1))),
    )!;
    expect(half).toMatchObject({ paired: true, source: 'val', n: 50 });
  });

  it('rarely reports a significant lift between equal candidates whose control ran the val seeds earlier (null simulation)', () => {
    const rng = createSeededRng(12);
    let before = 0;
    let now = 0;
    const runs = 400;
    for (let run = 0; run < runs; run++) {
      const a: Record<number, number> = {};
      const b: Record<number, number> = {};
      const atA: Record<number, number> = {};
      const atB: Record<number, number> = {};
      // 60 val seeds: the control ran them all for an earlier champion (t 0..59), this champion ran
      // them later (t 100..159, +0.6 logits of drift), except the last 20, run by both side by side.
      for (let s = 0; s < 60; s++) {
        const theta = rng.next() * 4 - 2;
        const late = s < 40;
        atB[s] = late ? s : 200 + 2 * s + 1;
        atA[s] = late ? 100 + s : 200 + 2 * s;
        const p = (x: number) => 1 / (1 + Math.exp(-x));
        b[s] = rng.next() < p(theta) ? 1 : 0;
        a[s] = rng.next() < p(theta + (late ? 0.6 : 0)) ? 1 : 0;
      }
      if (liftOverControl(side(a), side(b))!.significant) before += 1;
      if (liftOverControl(side(a, atA), side(b, atB))!.significant) now += 1;
    }
    expect(before / runs).toBeGreaterThan(0.1);
    expect(now / runs).toBeLessThanOrEqual(0.05);
  });
});
