/**
 * One color per candidate, the same in the leaderboard swatches and both charts. Okabe–Ito based
 * (distinguishable with common color-vision deficiencies), darkened where needed for 3:1 contrast on
 * white. The baseline is always the neutral gray: it is the control arm.
 */
const BASELINE = '#4b5563';
const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#b8860b', '#56b4e9', '#7b3294', '#8c510a', '#1b7837', '#c51b7d', '#2166ac', '#b2182b'];

/** Colors by candidate, in the job's creation order. */
export function candidateColors(candidateIds: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  let k = 0;
  for (const id of candidateIds) {
    if (id === 'baseline') out.set(id, BASELINE);
    else out.set(id, PALETTE[k++ % PALETTE.length] ?? BASELINE);
  }
  return out;
}
