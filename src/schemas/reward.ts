import { z } from 'zod';
import { noNul } from './dbText.js';
import { RolloutIdSchema } from './rolloutId.js';

/** `POST /api/v1/online/sessions/{id}/reward` (what MiproOnlineSession.update_reward sends). */
/** Longest rollout or correlation id; the router accepts path parameters this long (proxy rollout ids). */
export const MAX_ID_LENGTH = 256;
const Id = noNul(z.string().min(1, 'must not be empty').max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`));

export const RewardRequestSchema = z.looseObject({
  reward_info: z.looseObject({
    score: z.unknown().optional(),
    outcome_reward: z.unknown().optional(),
    reward: z.unknown().optional(),
  }).optional(),
  rollout_id: RolloutIdSchema.optional(),
  candidate_id: Id.optional(),
  correlation_id: Id.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  artifact: z.unknown().optional(),
  trace_ref: z.unknown().optional(),
  stop: z.boolean({ error: 'must be true or false' }).optional(),
});
export type RewardRequest = z.infer<typeof RewardRequestSchema>;

/** The legacy reward path public demos use: `POST /api/prompt-learning/online/mipro/systems/{id}/status`. */
export const LegacyStatusSchema = z.looseObject({
  rollout_id: RolloutIdSchema,
  status: z.enum(['reward', 'done'], { error: 'must be "reward" or "done"' }),
  reward: z.unknown().optional(),
  candidate_id: Id.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type LegacyStatus = z.infer<typeof LegacyStatusSchema>;
