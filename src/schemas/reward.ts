import { z } from 'zod';
import { noNul, storableText } from './dbText.js';
import { MetadataSchema } from './metadata.js';
import { wellFormed } from '../optimizer/core/text.js';
import { RolloutIdSchema } from './rolloutId.js';
import { MAX_MODULES } from '../optimizer/core/modules.js';
import { moduleNameSchema } from './moduleName.js';
import { closestName, isPlainObject } from './unknownFields.js';
import type { FieldProblem } from '../shared/errors.js';

/** `POST /api/v1/online/sessions/{id}/reward` (what MiproOnlineSession.update_reward sends). */
/** Longest rollout or correlation id; the router accepts path parameters this long (proxy rollout ids). */
export const MAX_ID_LENGTH = 256;
const Id = noNul(z.string().min(1, 'must not be empty').max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`));
/**
 * A reward body's `correlation_id`: what a proxied call's correlation id must be, so a reward can name
 * it. Stored (a call's, and a reward's that makes its rollout record), so no lone surrogate, which the
 * two databases store differently (dbText.ts); a query or header cannot carry one anyway.
 */
export const CorrelationIdSchema = storableText(z.string().min(1, 'must not be empty').max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`));

/** Longest feedback text (SPEC.md): longer is a 422, not a silent cut, so the app knows what was kept. */
export const MAX_FEEDBACK_CHARS = 4000;
// An app that keeps to the limit with slice(0, 4000) may cut an emoji in half: the half becomes
// U+FFFD (stored alike on both databases) instead of failing the reward. Feedback is only read, never matched.
const FeedbackText = noNul(z.string({ error: 'must be a string' }).max(MAX_FEEDBACK_CHARS, `must be at most ${MAX_FEEDBACK_CHARS} characters`)).transform(wellFormed);

const FEEDBACK_KEYS = ['feedback', 'feedback_by_module'];

export const RewardRequestSchema = z.looseObject({
  reward_info: z.looseObject({
    score: z.unknown().optional(),
    outcome_reward: z.unknown().optional(),
    reward: z.unknown().optional(),
    /** What went wrong or right, in words: shown to the proposer beside this rollout (never for val). */
    feedback: FeedbackText.optional(),
    /** The same per module ({module: text}). */
    feedback_by_module: z.record(
      moduleNameSchema('must be a module name ([a-z0-9_-]{1,64})'),
      FeedbackText,
    ).refine((r) => Object.keys(r).length <= MAX_MODULES, `must name at most ${MAX_MODULES} modules`).optional(),
  }).superRefine((info, ctx) => {
    // Open for the clients' own keys, but feedback under a near name (`feedbackByModule`, `feedbak`)
    // would be stored and never read, and the rollout's first reward wins: refuse it, naming the key.
    for (const key of Object.keys(info)) {
      if (FEEDBACK_KEYS.includes(key)) continue;
      const near = closestName(key, FEEDBACK_KEYS);
      if (near !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `unknown field; did you mean ${near}? (feedback under another name would be dropped unseen)` });
    }
    // It reads only the keys, so it runs beside a refused field too: one 422 lists every problem.
  }, { when: (payload) => isPlainObject(payload.value) }).optional(),
  rollout_id: RolloutIdSchema.optional(),
  candidate_id: Id.optional(),
  correlation_id: CorrelationIdSchema.optional(),
  metadata: MetadataSchema.optional(),
  artifact: z.unknown().optional(),
  trace_ref: z.unknown().optional(),
  stop: z.boolean({ error: 'must be true or false' }).optional(),
});
export type RewardRequest = z.infer<typeof RewardRequestSchema>;

/**
 * The body is open (public clients send fields of their own), but feedback beside reward_info would
 * be dropped unseen, and the rollout's first reward wins, so the resend could not add it. Checked on
 * the raw body, so it is listed with the schema's problems, whatever they are.
 */
export function misplacedFeedback(raw: unknown): FieldProblem[] {
  if (!isPlainObject(raw)) return [];
  return FEEDBACK_KEYS.filter((key) => key in raw).map((key) => ({ path: key, message: `goes inside reward_info (reward_info.${key})` }));
}

/** The legacy reward path public demos use: `POST /api/prompt-learning/online/mipro/systems/{id}/status`. */
export const LegacyStatusSchema = z.looseObject({
  rollout_id: RolloutIdSchema,
  status: z.enum(['reward', 'done'], { error: 'must be "reward" or "done"' }),
  reward: z.unknown().optional(),
  candidate_id: Id.optional(),
  metadata: MetadataSchema.optional(),
}).superRefine((body, ctx) => {
  // The route is open to the clients' own fields, but it stores no feedback: a text sent here was
  // dropped unseen, and the rollout's first reward wins, so a resend to the reward route could not
  // add it. Refused before anything is recorded, naming the route that takes it.
  const info = isPlainObject(body.reward_info) ? body.reward_info : undefined;
  const paths = [...FEEDBACK_KEYS.filter((key) => key in body), ...FEEDBACK_KEYS.filter((key) => info && key in info).map((key) => `reward_info.${key}`)];
  for (const path of paths) {
    ctx.addIssue({ code: 'custom', path: path.split('.'), message: `is not stored by this route: send the reward with its feedback to POST /api/v1/online/sessions/{id}/reward, inside reward_info (reward_info.${path.replace(/^reward_info\./, '')})` });
  }
});
export type LegacyStatus = z.infer<typeof LegacyStatusSchema>;
