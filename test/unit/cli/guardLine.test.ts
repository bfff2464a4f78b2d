import { describe, expect, it } from 'vitest';
import { formatGuard } from '../../../src/cli/jobFormat.js';
import type { JobGuard } from '../../../src/sdk/index.js';

/**
 * `miprox jobs show`'s guard line says when the guard cannot trip: a candidate promoted after a few
 * rewards has a confirmed lower bound at the bottom of the reward range, which no monitored
 * interval falls below, so "watching" alone would read as protection the guard cannot give.
 */
describe('jobs show: the guard line', () => {
  const watching: JobGuard = {
    mode: 'revert', state: 'watching', can_trip: false, candidate_id: 'cand_few', served_candidate_id: 'cand_few', tripped_at: null,
    monitored: { n: 40, mean: 0, ci: [0, 0.2] }, confirmed: { score: 1, ci: [0, 1], source: 'online' },
  };

  it('says a watching guard with a confirmed lower bound at the bottom of the range cannot trip, and why', () => {
    expect(formatGuard(watching)).toBe(
      'watching (revert) cand_few: monitored n=40 mean 0.000 [0.000, 0.200] vs confirmed 1.000 [0.000, 1.000] online'
      + ' (cannot trip: the confirmed lower bound is the bottom of the reward range; measure the candidate more, e.g. on val seeds, before relying on the guard)',
    );
  });

  it('adds nothing when it can trip, or when an older server does not say', () => {
    const armed = { ...watching, can_trip: true, confirmed: { score: 1, ci: [0.6, 1] as [number, number], source: 'val' } };
    expect(formatGuard(armed)).toBe('watching (revert) cand_few: monitored n=40 mean 0.000 [0.000, 0.200] vs confirmed 1.000 [0.600, 1.000] val');
    const older = { ...watching, can_trip: undefined };
    expect(formatGuard(older)).not.toContain('cannot trip');
  });
});
