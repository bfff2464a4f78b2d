/**
 * Turns the reward stream (arrival order) into chart series. Only training rewards (bootstrap and
 * online) are drawn. Val rewards are left out: they come from held-out seeds used to confirm the
 * champion, so mixing them into the online picture would mislead; the leaderboard's val column shows
 * them. Monitor rewards (after the end) are left out too: they never enter the optimizer's statistics,
 * and the job header's guard line shows them.
 */
export interface RewardPoint { candidate_id: string; reward: number; split: string }

export interface ChartSeries {
  /** Candidate id per series, in the order given (creation order). */
  ids: string[];
  x: number[];
  /** One array per id, aligned with x; null where the candidate has no value. */
  ys: Array<Array<number | null>>;
}

/**
 * Tick steps of the charts' x axis: x is a reward's index (1..N), so whole steps only, 1, 2, 5, 10,
 * 20, 50, ... (uPlot's default steps put ticks at 2.5, 7.5, ... on a wide chart of a few dozen rewards).
 */
export const X_INCRS: readonly number[] = Array.from({ length: 8 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/** uPlot draws thousands of points easily, but there is nothing to see beyond this many. */
const MAX_POINTS = 1500;

const TRAINING_SPLITS: readonly string[] = ['bootstrap', 'online'];
const online = (rewards: readonly RewardPoint[]) => rewards.filter((r) => TRAINING_SPLITS.includes(r.split));

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
 * Share of rewarded rollouts per candidate (percent) in consecutive windows of `window` rewards (the
 * last one takes the remainder, up to 2 x window - 1), for a stepped chart: x is the first reward index of each window, plus a closing point at the last reward
 * so the last window has width. A candidate's share is 0 in windows before its first reward.
 */
export function trafficShares(all: readonly RewardPoint[], order: readonly string[], window = shareWindow(online(all).length)): ChartSeries {
  const rewards = online(all);
  const ids = order.filter((id) => rewards.some((r) => r.candidate_id === id));
  const x: number[] = [];
  const ys: Array<Array<number | null>> = ids.map(() => []);
  for (let start = 0; start < rewards.length; start += window) {
    // A short remainder joins the window before it: two rewards of one stint would read "100%" (and
    // the legend shows the last window), so every window holds at least `window` rewards once there
    // are that many.
    const end = rewards.length - (start + window) < window ? rewards.length : start + window;
    const slice = rewards.slice(start, end);
    x.push(start + 1);
    ids.forEach((id, j) => {
      const count = slice.filter((r) => r.candidate_id === id).length;
      ys[j]?.push((100 * count) / slice.length);
    });
    if (end === rewards.length) break;
  }
  if (x.length > 0 && (x.at(-1) ?? 0) < rewards.length) {
    x.push(rewards.length);
    for (const y of ys) y.push(y.at(-1) ?? null);
  }
  return { ids, x, ys };
}

/**
 * Shares rounded to whole percents that still add up to the whole (largest remainder; ties go to the
 * earlier share): rounded one by one, thirds read "33% + 33% + 33%" and 31.6/36.8/31.6 read
 * "32% + 37% + 32% = 101%", under a caption saying the bands add up to 100%.
 */
export function wholePercents(shares: readonly number[]): number[] {
  const total = Math.round(shares.reduce((a, b) => a + b, 0));
  const floors = shares.map((v) => Math.floor(v + 1e-9));
  let left = total - floors.reduce((a, b) => a + b, 0);
  const order = shares.map((v, k) => ({ k, rest: v - (floors[k] ?? 0) })).sort((a, b) => b.rest - a.rest || a.k - b.k);
  for (const { k } of order) {
    if (left <= 0) break;
    floors[k] = (floors[k] ?? 0) + 1;
    left--;
  }
  return floors;
}

/** The champion chart's series ids (legend labels). */
export const CHAMPION_SERIES = ['champion mean', '95% low', '95% high'] as const;

/**
 * The champion's online mean with a 95% interval against the reward index: after each reward, the
 * champion is the candidate with the highest lower bound (at least two rewards), so a lucky streak on
 * a few rollouts does not make a champion (the winner's curse). Rewards in [0, 1] get a Wilson
 * interval (never zero-width after a run of 1s), others mean +- 1.96 standard errors, the variance
 * guarded as the server guards it (sum of squares plus one pseudo-observation at the variance of all
 * the rewards drawn): with the sample variance alone, equal rewards on a 0-100 or 1-5 scale had a
 * zero-width interval, so two rewards of 84 out-ranked 40 rollouts averaging 85. This is a fixed-n view of the reward
 * stream for the chart; the header's best score is the server's. With the job's `reward_range` the
 * interval is clipped to it (a normal interval on a 0-100 scale reached 109.9).
 */
export function championSeries(all: readonly RewardPoint[], range?: readonly [number, number]): ChartSeries & { championIds: string[] } {
  const rewards = online(all);
  const stats = new Map<string, { n: number; mean: number; m2: number; unit: boolean }>();
  const step = Math.max(1, Math.ceil(rewards.length / MAX_POINTS));
  const x: number[] = [];
  const ys: Array<Array<number | null>> = [[], [], []];
  const championIds: string[] = [];
  const pooledStats = { n: 0, mean: 0, m2: 0 };
  // Wilson only on a [0, 1] scale: on a 0-100 job, scores of 0 and 1 are low scores, not proportions.
  const unitScale = !range || (range[0] >= 0 && range[1] <= 1);
  rewards.forEach((r, i) => {
    const s = stats.get(r.candidate_id) ?? { n: 0, mean: 0, m2: 0, unit: unitScale };
    addSample(s, r.reward);
    s.unit &&= r.reward >= 0 && r.reward <= 1;
    stats.set(r.candidate_id, s);
    addSample(pooledStats, r.reward);
    if (i % step !== 0 && i !== rewards.length - 1) return;
    // The pseudo-observation's variance: all rewards drawn so far (1 while they are all equal, as on the server).
    const pooled = pooledStats.n > 1 && pooledStats.m2 > 0 ? pooledStats.m2 / (pooledStats.n - 1) : 1;
    let best: { id: string; mean: number; lo: number; hi: number } | null = null;
    for (const [id, c] of stats) {
      if (c.n < 2) continue;
      const [rawLo, rawHi] = c.unit ? wilson(c.mean, c.n) : normal(c.mean, (c.m2 + pooled) / c.n, c.n);
      // No reward lies outside the job's declared range, so neither does its mean: the interval stops there.
      const [lo, hi] = range ? [Math.max(range[0], rawLo), Math.min(range[1], rawHi)] : [rawLo, rawHi];
      if (best === null || lo > best.lo) best = { id, mean: c.mean, lo, hi };
    }
    x.push(i + 1);
    ys[0]?.push(best?.mean ?? null);
    ys[1]?.push(best?.lo ?? null);
    ys[2]?.push(best?.hi ?? null);
    championIds.push(best?.id ?? '');
  });
  return { ids: [...CHAMPION_SERIES], x, ys, championIds };
}

/** Welford's running mean and sum of squared deviations, one sample more. */
function addSample(s: { n: number; mean: number; m2: number }, x: number): void {
  s.n += 1;
  const delta = x - s.mean;
  s.mean += delta / s.n;
  s.m2 += delta * (x - s.mean);
}

const Z = 1.96;

function wilson(p: number, n: number): [number, number] {
  const denom = 1 + (Z * Z) / n;
  const center = (p + (Z * Z) / (2 * n)) / denom;
  const half = (Z / denom) * Math.sqrt((p * (1 - p)) / n + (Z * Z) / (4 * n * n));
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

function normal(mean: number, variance: number, n: number): [number, number] {
  const half = Z * Math.sqrt(variance / n);
  return [mean - half, mean + half];
}

/**
 * A reward chart's y range: the job's declared `reward_range`, widened only to keep a value outside
 * it on the plot (rewards are validated to the range, so none should be). Scaled to the data, a
 * 0-10 job whose means sat between 0 and 8 read "8" at the top, and its picture changed from one
 * poll to the next and from one job to another.
 */
export function rewardScale(declared: readonly [number, number], min: number | null, max: number | null): [number, number] {
  const lo = min !== null && Number.isFinite(min) ? Math.min(declared[0], min) : declared[0];
  const hi = max !== null && Number.isFinite(max) ? Math.max(declared[1], max) : declared[1];
  return [lo, hi];
}

/**
 * Indices of values with no value beside them (a candidate with one reward so far, or one point
 * between gaps): a line needs two points, so without a marker such a series drew nothing.
 */
export function isolatedPoints(ys: ArrayLike<number | null | undefined>): number[] {
  const has = (i: number) => ys[i] !== null && ys[i] !== undefined;
  const out: number[] = [];
  for (let i = 0; i < ys.length; i++) if (has(i) && !has(i - 1) && !has(i + 1)) out.push(i);
  return out;
}
