import type { FieldProblem } from '../shared/errors.js';
import { MAX_FEEDBACK_CHARS } from '../schemas/reward.js';
import { headOf } from '../optimizer/core/text.js';

/** The feedback a reward stores once the entries naming no module of a discovering job are folded in. */
export interface FoldedFeedback {
  feedback: string | undefined;
  feedbackByModule: Record<string, string> | undefined;
  /** What was done, one problem-shaped notice per folded name (and one for a cut), for the reward's answer. */
  warnings: FieldProblem[];
}

/**
 * A discovering job names its modules m1, m2, ... while an app's feedback names its own stages
 * (`extract`): refusing such a reward lost its score. Each entry of `unknown` leaves
 * `feedback_by_module` and becomes a line `<name>: <text>` after the overall feedback, which the
 * proposer reads beside the rollout, so the words still reach it. The overall text keeps the
 * 4,000-character limit every feedback text has (the proposer prompt is sized for it); past it, the
 * end is cut and a notice says so. Pure.
 */
export function foldUnknownModules(
  feedback: string | undefined,
  byModule: Readonly<Record<string, string>> | undefined,
  unknown: readonly string[],
  known: readonly string[],
): FoldedFeedback {
  if (unknown.length === 0 || byModule === undefined) return { feedback, feedbackByModule: byModule, warnings: [] };
  const kept = Object.fromEntries(Object.entries(byModule).filter(([name]) => !unknown.includes(name)));
  const lines = unknown.map((name) => `${name}: ${byModule[name] ?? ''}`);
  const whole = [...(feedback ? [feedback] : []), ...lines].join('\n');
  const cut = whole.length > MAX_FEEDBACK_CHARS;
  const modules = known.join(', ') || '(none yet)';
  const warnings: FieldProblem[] = unknown.map((name) => ({
    path: `reward_info.feedback_by_module.${name}`,
    message: `is not a module of this job (modules: ${modules}); the job discovers its modules and names them itself, `
      + `so the text was added to reward_info.feedback as "${name}: ..." and the reward recorded. `
      + `To give feedback per module, name the module in the calls (header x-mipro-module: ${name}) or declare the job's modules`,
  }));
  if (cut) warnings.push({ path: 'reward_info.feedback', message: `was cut to ${MAX_FEEDBACK_CHARS} characters with the feedback_by_module texts added to it` });
  return {
    feedback: cut ? `${headOf(whole, MAX_FEEDBACK_CHARS - 1)}…` : whole,
    feedbackByModule: Object.keys(kept).length > 0 ? kept : undefined,
    warnings,
  };
}
