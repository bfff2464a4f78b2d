/**
 * The proposer's spend caps (`mipro.proposer.max_calls`, `max_total_tokens`): pure, so the trigger,
 * the runner and the event that reports the crossing all read the same rule.
 */
export type SpendCap = 'max_calls' | 'max_total_tokens';

export interface ProposerSpent { calls: number; totalTokens: number }
export interface ProposerCaps { maxCalls?: number | undefined; maxTotalTokens?: number | undefined }

/** The cap that is reached (calls first), or null while the proposer may still be asked. */
export function exhaustedCap(spent: ProposerSpent, caps: ProposerCaps): SpendCap | null {
  if (caps.maxCalls !== undefined && spent.calls >= caps.maxCalls) return 'max_calls';
  if (caps.maxTotalTokens !== undefined && spent.totalTokens >= caps.maxTotalTokens) return 'max_total_tokens';
  return null;
}

/**
 * The cap this call crossed: reached after it, not before. Counters only grow and each addition
 * reports its own before/after, so exactly one call sees the crossing (one event per job).
 */
export function crossedCap(before: ProposerSpent, after: ProposerSpent, caps: ProposerCaps): SpendCap | null {
  return exhaustedCap(before, caps) === null ? exhaustedCap(after, caps) : null;
}
