import { type ErrorDetail, ValidationError } from './errors.js';

type FeedbackByModule = Record<string, string>;

export interface RewardInfoParts {
  rewardInfo?: { feedback?: string; feedback_by_module?: FeedbackByModule } & Record<string, unknown>;
  feedback?: string;
  feedbackByModule?: FeedbackByModule;
}

/**
 * The `reward_info` an updateReward call sends. The feedback texts can be given twice: inside
 * `rewardInfo` (the wire spelling) and as the top-level `feedback` / `feedbackByModule` options. With
 * two different values the top-level one used to win silently, so the proposer read a text the app
 * may not have meant; a conflicting pair is now a ValidationError before anything is sent. The same
 * value given both ways, or one way only, is sent as before.
 */
export function rewardInfoOf(input: RewardInfoParts): Record<string, unknown> {
  const inner = input.rewardInfo ?? {};
  const conflicts: ErrorDetail[] = [];
  if (input.feedback !== undefined && inner.feedback !== undefined && input.feedback !== inner.feedback) {
    conflicts.push({ path: 'feedback', message: 'differs from rewardInfo.feedback: give the text once (either option, not both)' });
  }
  if (input.feedbackByModule !== undefined && inner.feedback_by_module !== undefined
    && !sameTexts(input.feedbackByModule, inner.feedback_by_module)) {
    conflicts.push({ path: 'feedbackByModule', message: 'differs from rewardInfo.feedback_by_module: give the texts once (either option, not both)' });
  }
  if (conflicts.length > 0) {
    throw new ValidationError('updateReward got two different feedback values (nothing was sent)', { code: 'conflicting_feedback', details: conflicts });
  }
  return {
    ...inner,
    ...(input.feedback !== undefined ? { feedback: input.feedback } : {}),
    ...(input.feedbackByModule !== undefined ? { feedback_by_module: input.feedbackByModule } : {}),
  };
}

/** Same modules with the same texts, whatever the key order. */
function sameTexts(a: FeedbackByModule, b: FeedbackByModule): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const aKeys = Object.keys(a);
  return aKeys.length === Object.keys(b).length
    && aKeys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}
