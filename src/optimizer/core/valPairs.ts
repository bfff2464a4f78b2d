/**
 * Which val seeds pair the champion with the control. A paired difference on seed s cancels the
 * seed's difficulty, but it also carries whatever changed between the two runs of s: when traffic
 * drifts (the application, its users or the model behind it change during the job), a champion that
 * runs s long after the control did is compared with the control's older, different, traffic. The
 * scheduler makes that the common case: the control runs the val seeds for every champion in turn,
 * so a later champion meets seeds the control ran for an earlier one, always later, so the drift
 * adds the same sign to every pair and no amount of pairs averages it away (issue 12: 17 of 300
 * null-world runs with a +0.6-logit drift reported a false improvement, all through these pairs).
 *
 * A seed therefore pairs only when its two runs were contemporaneous: among the two candidates' val
 * runs taken together, at most MAX_RUNS_BETWEEN others were dispatched strictly between them. That is
 * what the scheduler produces once champion and control confirm side by side (one runs a seed, the
 * other runs it next; seedScheduler.ts), allowing for one run taken out of turn by a concurrent
 * scheduler. It needs no clock unit and no window to tune, and it holds for any drift that is slow
 * next to one round of val rollouts; a run the control made for an earlier champion is many runs
 * away and is left out. Runs stamped with the same time are contemporaneous. The control can run a
 * val seed only once (the unique (candidate, val seed) pair of migration 0011), so a stale seed is
 * not re-run: it simply does not count as a pair.
 */

export const MAX_RUNS_BETWEEN = 1;

/** When each val seed was dispatched, per side: any numbers that order the runs (a rollout index, a timestamp in ms). */
export type RunTimes = Readonly<Record<number, number>>;

/** The seeds both sides ran contemporaneously (see above), ascending. */
export function contemporaneousSeeds(a: RunTimes, b: RunTimes): number[] {
  const times = [...Object.values(a), ...Object.values(b)].sort((x, y) => x - y);
  const out: number[] = [];
  for (const [key, ta] of Object.entries(a)) {
    const tb = b[Number(key)];
    if (tb === undefined) continue;
    const between = countBefore(times, Math.max(ta, tb), false) - countBefore(times, Math.min(ta, tb), true);
    if (between <= MAX_RUNS_BETWEEN) out.push(Number(key));
  }
  return out.sort((x, y) => x - y);
}

/** How many of the sorted `times` are < t (`inclusive`: <= t). */
function countBefore(times: readonly number[], t: number, inclusive: boolean): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t || (inclusive && times[mid] === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
