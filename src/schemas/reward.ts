import { z } from 'zod';

/** `POST /api/v1/online/sessions/{id}/reward` (what MiproOnlineSession.update_reward sends). */
const Id = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

export const RewardRequestSchema = z.looseObject({
  reward_info: z.looseObject({
    score: z.unknown().optional(),
    outcome_reward: z.unknown().optional(),
    reward: z.unknown().optional(),
  }).optional(),
  rollout_id: Id.optional(),
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
  rollout_id: Id,
  status: z.enum(['reward', 'done'], { error: 'must be "reward" or "done"' }),
  reward: z.unknown().optional(),
  candidate_id: Id.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type LegacyStatus = z.infer<typeof LegacyStatusSchema>;
