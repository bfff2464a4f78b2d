import { describe, expect, it } from 'vitest';
import { ciScale } from '../../web/src/components/leaderboard.js';
import { isMeasuredBest } from '../../web/src/components/bestTag.js';
import { missingRewardsTitle } from '../../web/src/components/missingRewardsTag.js';
import type { CandidateView } from '../../web/src/types.js';

const cand = (ci: [number, number] | null) => ({ ci }) as CandidateView;

describe('leaderboard: the interval bars\' common axis', () => {
  it('is the job\'s reward_range, so an interval over the whole range fills its bar', () => {
    // A -10..-2 job: the axis was [-10, 1] (0..1 added), so [-10, -2] stopped at 73% of the bar.
    expect(ciScale([cand([-10, -2]), cand(null)], [-10, -2])).toEqual([-10, -2]);
    expect(ciScale([cand([40, 90])], [0, 100])).toEqual([0, 100]);
    // Without a range: [0, 1], widened by any interval outside it.
    expect(ciScale([cand([0.2, 0.6])])).toEqual([0, 1]);
    expect(ciScale([cand([-0.5, 2])])).toEqual([-0.5, 2]);
  });
});

describe('leaderboard: the "best" tag', () => {
  const c = (candidate_id: string, reward_count: number, val_count = 0) => ({ candidate_id, reward_count, val_count });
  it('is not given before the best candidate has a reward (the API names the baseline best by default)', () => {
    expect(isMeasuredBest(c('baseline', 0), 'baseline')).toBe(false);
    expect(isMeasuredBest(c('baseline', 1), 'baseline')).toBe(true);
    expect(isMeasuredBest(c('cand_a', 0, 4), 'cand_a')).toBe(true);
    expect(isMeasuredBest(c('cand_a', 5), 'baseline')).toBe(false);
  });
});

/**
 * A candidate that loses more rewards than the control cannot be champion (docs/API.md, "Missing
 * rewards"): its row had the top mean and no "best" tag, and nothing on the row said why.
 */
describe('leaderboard: the "losing rewards" tag', () => {
  it('is given to a flagged candidate, with its rate and the reason, and to no other', () => {
    expect(missingRewardsTitle({ missing_rewards_flagged: true, missing_reward_rate: 0.7 }))
      .toBe("70% of its rollouts got no reward, significantly more than the control's: it cannot be champion while the gap lasts");
    expect(missingRewardsTitle({ missing_rewards_flagged: false, missing_reward_rate: 0.7 })).toBeNull();
  });
});
