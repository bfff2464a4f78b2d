import { h } from '../dom.js';
import type { CandidateView } from '../types.js';

/**
 * Whether `c` is the job's best candidate with something measured (an online or val reward). Before
 * any reward the API's best_candidate_id is the baseline by default: tagged "best" beside a mean of
 * "— (n=0)", it claimed a comparison nobody had made. The baseline keeps its "control" tag.
 */
export function isMeasuredBest(c: Pick<CandidateView, 'candidate_id' | 'reward_count' | 'val_count'>, bestId: string | null): boolean {
  return c.candidate_id === bestId && (c.reward_count > 0 || c.val_count > 0);
}

/** The "best" tag of a row or a program line, or null (see isMeasuredBest). */
export function bestTag(c: Pick<CandidateView, 'candidate_id' | 'reward_count' | 'val_count'>, bestId: string | null): HTMLElement | null {
  return isMeasuredBest(c, bestId) ? h('span', { class: 'tag tag-best' }, 'best') : null;
}
