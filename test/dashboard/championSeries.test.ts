import { describe, expect, it } from 'vitest';
import { championSeries, type RewardPoint } from '../../web/src/chartData.js';

const r = (candidate_id: string, reward: number, split = 'online'): RewardPoint => ({ candidate_id, reward, split });

describe('championSeries (the dashboard champion chart)', () => {
  it('follows the candidate with the highest lower bound, not the highest mean of a few rewards', () => {
    const rewards = [
      ...Array.from({ length: 40 }, (_, i) => r('baseline', i % 10 < 7 ? 1 : 0)), // 0.7 on 40
      r('lucky', 1), r('lucky', 1), // 1.0 on 2: higher mean, wide interval
    ];
    const s = championSeries(rewards);
    expect(s.ids).toEqual(['champion mean', '95% low', '95% high']);
    expect(s.championIds.at(-1)).toBe('baseline');
    expect(s.ys[0]?.at(-1)).toBeCloseTo(0.7, 10);
    const [lo, hi] = [s.ys[1]?.at(-1) ?? 0, s.ys[2]?.at(-1) ?? 0];
    expect(lo).toBeLessThan(0.7);
    expect(hi).toBeGreaterThan(0.7);
  });

  it('never draws a zero-width interval for a run of perfect rewards, and leaves val rewards out', () => {
    const s = championSeries([r('c1', 1), r('c1', 1), r('c1', 1), r('c1', 0, 'val')]);
    expect(s.x).toEqual([1, 2, 3]);
    expect(s.ys[0]).toEqual([null, 1, 1]); // one reward is no champion
    expect((s.ys[2]?.[2] ?? 0) - (s.ys[1]?.[2] ?? 0)).toBeGreaterThan(0.3);
    expect(s.ys[2]?.[2]).toBe(1);
  });

  it('leaves monitor rewards out: production rewards after the end do not move the champion chart', () => {
    const optimized = [...Array.from({ length: 10 }, () => r('a', 1)), ...Array.from({ length: 10 }, () => r('b', 0))];
    const s = championSeries([...optimized, ...Array.from({ length: 30 }, () => r('a', 0, 'monitor')), ...Array.from({ length: 30 }, () => r('b', 1, 'monitor'))]);
    expect(s.x.at(-1)).toBe(20);
    expect(s.championIds.at(-1)).toBe('a');
    expect(s.ys[0]?.at(-1)).toBe(1);
  });

  it('never draws a zero-width interval for equal rewards outside [0, 1]: two equal rewards do not take the chart', () => {
    // A 0-100 score: 'steady' averages 85 on 40 rollouts (70 or 100), 'lucky' scored 84 twice. With the
    // sample variance alone 'lucky' had the interval [84, 84], the highest lower bound, with the lower mean.
    const rewards = [...Array.from({ length: 40 }, (_, i) => r('steady', i % 2 === 0 ? 70 : 100)), r('lucky', 84), r('lucky', 84)];
    const s = championSeries(rewards);
    expect(s.championIds.at(-1)).toBe('steady');
    expect(s.ys[0]?.at(-1)).toBeCloseTo(85, 10);
    // Alone, with every reward equal: its interval still has a width.
    const alone = championSeries([r('lucky', 5), r('lucky', 5)]);
    expect((alone.ys[2]?.at(-1) ?? 0) - (alone.ys[1]?.at(-1) ?? 0)).toBeGreaterThan(0);
  });

  it('clips the interval to the job\'s reward_range: a mean of 0-100 rewards has no bound above 100', () => {
    const rewards = [r('a', 100), r('a', 100), r('a', 60)];
    const open = championSeries(rewards);
    expect(open.ys[2]?.at(-1)).toBeGreaterThan(100); // the normal interval alone crosses the scale's top
    const clipped = championSeries(rewards, [0, 100]);
    expect(clipped.ys[2]?.at(-1)).toBe(100);
    expect(clipped.ys[1]?.at(-1)).toBe(open.ys[1]?.at(-1)); // the lower bound was inside: unchanged
    expect(clipped.ys[0]?.at(-1)).toBeCloseTo(260 / 3, 10);
  });

  it('on a job whose reward_range is wider than [0, 1], low rewards are not taken for [0, 1] rewards', () => {
    // Scores of 0 and 1 out of 100: a Wilson interval capped the high bound at 1, as if no reward
    // could exceed 1, on a scale that goes to 100.
    const s = championSeries([r('a', 1), r('a', 0), r('a', 1)], [0, 100]);
    expect(s.ys[0]?.at(-1)).toBeCloseTo(2 / 3, 10);
    expect(s.ys[2]?.at(-1)).toBeGreaterThan(1);
    // A [0, 1] job keeps its Wilson interval.
    expect(championSeries([r('a', 1), r('a', 0), r('a', 1)], [0, 1]).ys[2]?.at(-1)).toBeLessThanOrEqual(1);
  });

  it('uses a normal interval for rewards outside [0, 1]', () => {
    const s = championSeries([r('a', 2), r('a', 4), r('a', 6)]);
    expect(s.ys[0]?.at(-1)).toBe(4);
    expect(s.ys[1]?.at(-1)).toBeCloseTo(4 - 1.96 * 2 / Math.sqrt(3), 10);
  });
});
