/**
 * Turns the reward stream (arrival order) into chart series. Val rewards are left out: they come from
 * held-out seeds used to confirm the champion, so mixing them into the online picture would mislead;
 * the leaderboard's val column shows them.
 */
export interface RewardPoint { candidate_id: string; reward: number; split: string }

export interface ChartSeries {
  /** Candidate id per series, in the order given (creation order). */
  ids: string[];
  x: number[];
  /** One array per id, aligned with x; null where the candidate has no value. */
  ys: Array<Array<number | null>>;
}

/** uPlot draws thousands of points easily, but there is nothing to see beyond this many. */
const MAX_POINTS = 1500;

const online = (rewards: readonly RewardPoint[]) => rewards.filter((r) => r.split !== 'val');

/**
 * Running mean of each candidate's reward against the reward index (1..N). A candidate's line starts
 * at its first reward and ends at its last (a retired candidate's line stops where its traffic did).
 */
export function runningMeans(all: readonly RewardPoint[], order: readonly string[]): ChartSeries {
  const rewards = online(all);
  const ids = order.filter((id) => rewards.some((r) => r.candidate_id === id));
  const index = new Map(ids.map((id, k) => [id, k]));
  const last = new Map<string, number>();
  rewards.forEach((r, i) => last.set(r.candidate_id, i));
  const sums = ids.map(() => 0);
  const counts = ids.map(() => 0);
  const step = Math.max(1, Math.ceil(rewards.length / MAX_POINTS));
  const x: number[] = [];
  const ys: Array<Array<number | null>> = ids.map(() => []);
  rewards.forEach((r, i) => {
    const k = index.get(r.candidate_id);
    if (k !== undefined) {
      sums[k] = (sums[k] ?? 0) + r.reward;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    // Thinned to MAX_POINTS, but every line's last point is kept so its end stays where it was.
    const keep = i % step === 0 || i === rewards.length - 1 || last.get(r.candidate_id) === i;
    if (!keep) return;
    x.push(i + 1);
    ids.forEach((id, j) => {
      const n = counts[j] ?? 0;
      const ended = (last.get(id) ?? -1) < i;
      ys[j]?.push(n === 0 || ended ? null : (sums[j] ?? 0) / n);
    });
  });
  return { ids, x, ys };
}

/** Window size for traffic shares: about 25 windows, at least 10 rewards each (stints make small windows all-or-nothing). */
export const shareWindow = (n: number): number => Math.max(10, Math.ceil(n / 25));

/**
 * Share of rewarded rollouts per candidate (percent) in consecutive windows of `window` rewards, for a
 * stepped chart: x is the first reward index of each window, plus a closing point at the last reward
 * so the last window has width. A candidate's share is 0 in windows before its first reward.
 */
export function trafficShares(all: readonly RewardPoint[], order: readonly string[], window = shareWindow(online(all).length)): ChartSeries {
  const rewards = online(all);
  const ids = order.filter((id) => rewards.some((r) => r.candidate_id === id));
  const x: number[] = [];
  const ys: Array<Array<number | null>> = ids.map(() => []);
  for (let start = 0; start < rewards.length; start += window) {
    const slice = rewards.slice(start, start + window);
    x.push(start + 1);
    ids.forEach((id, j) => {
      const count = slice.filter((r) => r.candidate_id === id).length;
      ys[j]?.push((100 * count) / slice.length);
    });
  }
  if (x.length > 0 && (x.at(-1) ?? 0) < rewards.length) {
    x.push(rewards.length);
    for (const y of ys) y.push(y.at(-1) ?? null);
  }
  return { ids, x, ys };
}
