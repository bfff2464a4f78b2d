import { describe, expect, it } from 'vitest';
import { X_INCRS, isolatedPoints, rewardScale, runningMeans, shareWindow, trafficShares, wholePercents, type RewardPoint } from '../../web/src/chartData.js';

const r = (candidate_id: string, reward: number, split = 'online'): RewardPoint => ({ candidate_id, reward, split });

describe('chart data', () => {
  it('running mean per candidate over the reward index, from first to last reward, val left out', () => {
    const rewards = [r('baseline', 1), r('baseline', 0), r('c1', 1), r('baseline', 0, 'val'), r('c1', 0), r('baseline', 1)];
    const s = runningMeans(rewards, ['baseline', 'c1', 'c2']);
    expect(s.ids).toEqual(['baseline', 'c1']); // c2 has no rewards: no series, no legend entry
    expect(s.x).toEqual([1, 2, 3, 4, 5]);
    expect(s.ys[0]).toEqual([1, 0.5, 0.5, 0.5, 2 / 3]);
    expect(s.ys[1]).toEqual([null, null, 1, 0.5, null]); // ends at its last reward
  });

  it('leaves monitor rewards (after the end) out of the running means and the traffic shares', () => {
    // A finished job serving c1: its production rewards collapse (what the guard watches). The charts
    // show the optimization (online and bootstrap rollouts), as their captions say.
    const rewards = [r('baseline', 1, 'bootstrap'), r('c1', 1), r('c1', 1), ...Array.from({ length: 20 }, () => r('c1', 0, 'monitor'))];
    const means = runningMeans(rewards, ['baseline', 'c1']);
    expect(means.x).toEqual([1, 2, 3]);
    expect(means.ys[1]).toEqual([null, 1, 1]);
    const shares = trafficShares(rewards, ['baseline', 'c1'], 10);
    expect(shares.x).toEqual([1, 3]);
    expect(shares.ys[0]?.[0]).toBeCloseTo(100 / 3, 10);
  });

  it('thins long streams but keeps every line end', () => {
    const rewards = Array.from({ length: 6000 }, (_, i) => r(i < 5000 ? 'baseline' : 'c1', i % 2));
    const s = runningMeans(rewards, ['baseline', 'c1']);
    expect(s.x.length).toBeLessThanOrEqual(1600);
    expect(s.x).toContain(5000); // baseline's last reward
    expect(s.x.at(-1)).toBe(6000);
    const lastBaseline = s.ys[0]?.[s.x.indexOf(5000)];
    expect(lastBaseline).toBeCloseTo(0.5, 3);
  });

  it('traffic shares per window add up to 100 and the last window is closed', () => {
    const rewards = [
      ...Array.from({ length: 10 }, () => r('baseline', 1)),
      ...Array.from({ length: 5 }, () => r('c1', 1)),
      ...Array.from({ length: 5 }, () => r('baseline', 0)),
      ...Array.from({ length: 3 }, () => r('c1', 0)),
    ];
    const s = trafficShares(rewards, ['baseline', 'c1'], 10);
    // The 3 rewards after the second full window join it (13 rewards): alone they read "c1: 100%".
    expect(s.x).toEqual([1, 11, 23]);
    expect(s.ys[0]).toEqual([100, 500 / 13, 500 / 13]);
    expect(s.ys[1]).toEqual([0, 800 / 13, 800 / 13]);
    for (let i = 0; i < s.x.length; i++) expect((s.ys[0]?.[i] ?? 0) + (s.ys[1]?.[i] ?? 0)).toBeCloseTo(100, 10);
  });

  it('never ends on a window of a few rewards: the last window holds at least a full window', () => {
    // A job's 52 rewards in windows of 10: the last two (one stint of c2) alone made a window that
    // read "c2: 100%", and the legend shows the last window's shares when the cursor is off the chart.
    const rewards = [...Array.from({ length: 50 }, (_, i) => r(i % 5 === 0 ? 'c2' : 'baseline', 1)), r('c2', 1), r('c2', 1)];
    const s = trafficShares(rewards, ['baseline', 'c2'], 10);
    expect(s.x).toEqual([1, 11, 21, 31, 41, 52]);
    expect(s.ys[1]?.at(-1)).toBeCloseTo(100 * 4 / 12, 10);
    const even = trafficShares(rewards.slice(0, 20), ['baseline', 'c2'], 10);
    expect(even.x).toEqual([1, 11, 20]);
  });

  it('picks windows of at least 10 rewards, about 25 of them', () => {
    expect(shareWindow(30)).toBe(10);
    expect(shareWindow(1000)).toBe(40);
    expect(trafficShares([], ['baseline'])).toEqual({ ids: [], x: [], ys: [] });
  });

  it('steps the x axis (reward #) by whole numbers only: no tick at 2.5 on a wide chart of 50 rewards', () => {
    expect(X_INCRS.slice(0, 6)).toEqual([1, 2, 5, 10, 20, 50]);
    expect(X_INCRS.every((v) => Number.isInteger(v))).toBe(true);
    expect(X_INCRS.at(-1)).toBeGreaterThanOrEqual(1_000_000);
  });

  it('rounds a window\'s shares to whole percents that add up to 100, as the traffic legend shows them', () => {
    // Rounded one by one these read 32% + 37% + 32% = 101%.
    expect(wholePercents([100 * 6 / 19, 100 * 7 / 19, 100 * 6 / 19])).toEqual([32, 37, 31]);
    expect(wholePercents([100 / 3, 100 / 3, 100 / 3])).toEqual([34, 33, 33]);
    expect(wholePercents([100, 0, 0])).toEqual([100, 0, 0]);
    expect(wholePercents([12.5, 37.5, 50])).toEqual([13, 37, 50]);
    const s = trafficShares([r('a', 1), r('b', 1), r('c', 1), r('a', 1), r('b', 1), r('c', 1), r('a', 1), r('b', 1), r('c', 1), r('a', 1), r('b', 1)], ['a', 'b', 'c'], 10);
    const last = s.ys.map((y) => y.at(-1) ?? 0);
    expect(wholePercents(last).reduce((a, b) => a + b, 0)).toBe(100);
  });

  it('scales a reward chart to the declared range, not the data, widened only for a value outside it', () => {
    // Running means between 0 and 8 on a 0-10 job: the axis still reads 0 to 10.
    expect(rewardScale([0, 10], 0, 8)).toEqual([0, 10]);
    expect(rewardScale([0, 10], 3.5, 4)).toEqual([0, 10]);
    expect(rewardScale([-1, 1], null, null)).toEqual([-1, 1]);
    // Rewards are validated to the range, but a value beyond it stays on the plot.
    expect(rewardScale([0, 1], -0.2, 1.5)).toEqual([-0.2, 1.5]);
  });

  it('finds the points a line cannot draw: values with no value beside them', () => {
    // A candidate's single reward, at the end of the chart (runningMeans gives it one value).
    const s = runningMeans([r('baseline', 1), r('baseline', 0), r('c1', 1)], ['baseline', 'c1']);
    expect(isolatedPoints(s.ys[1] ?? [])).toEqual([2]);
    expect(isolatedPoints(s.ys[0] ?? [])).toEqual([]);
    expect(isolatedPoints([1, null, 2, 3, null, 4])).toEqual([0, 5]);
    expect(isolatedPoints([])).toEqual([]);
  });
});
