/**
 * Every event type the server writes (docs/API.md, "Events"), and the one earlier releases wrote.
 * NewEvent takes only these, so a new type is added here (and so to `?event_type=`, which answers a
 * misspelt type with a 422 naming the nearest, not an empty list that reads as "none happened").
 */
export const EVENT_TYPES = [
  'mipro.job.status', 'mipro.rollout.started', 'mipro.reward.received', 'mipro.proposal.created', 'mipro.proposal.failed',
  'mipro.proposal.skipped', 'mipro.proposer.budget_exhausted', 'mipro.candidate.retired', 'mipro.best.changed',
  'mipro.candidate.missing_rewards', 'mipro.candidate.added', 'mipro.candidate.promoted', 'mipro.module.discovered',
  'mipro.module.unmatched', 'mipro.rollout.per_call', 'mipro.guard.tripped', 'mipro.baseline.captured',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];
