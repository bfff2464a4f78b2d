import { h } from '../dom.js';
import type { CandidateView } from '../types.js';

type Rates = Pick<CandidateView, 'missing_reward_rate' | 'missing_rewards_flagged'>;

/**
 * Why a flagged candidate is not champion whatever its mean (docs/API.md, "Missing rewards"), or
 * null for one that is not flagged. Without it a row with the top mean and no "best" tag had no
 * reason on the page but one event in the log. Only the row's own numbers: a row is redrawn when
 * its candidate changes, not when the control's rate does.
 */
export function missingRewardsTitle(c: Rates): string | null {
  if (!c.missing_rewards_flagged) return null;
  const rate = c.missing_reward_rate === null ? '' : `${Math.round(c.missing_reward_rate * 100)}% of its rollouts got no reward, `;
  return `${rate}significantly more than the control's: it cannot be champion while the gap lasts`;
}

/** The "losing rewards" tag of a leaderboard row, or null. */
export function missingRewardsTag(c: Rates): HTMLElement | null {
  const title = missingRewardsTitle(c);
  return title === null ? null : h('span', { class: 'tag tag-missing', title }, 'losing rewards');
}
