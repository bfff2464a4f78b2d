import type { JobsTable } from './schema.js';

/**
 * Token usage as the jobs row counts it (SPEC.md: `usage` in job views, from the providers' own
 * token counts). One shape for the policy's calls (the proxied traffic) and the proposer's.
 */
export interface UsageTotals {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Calls the provider answered (a failed call is counted only when it still reported usage). */
  calls: number;
}

export interface JobUsage {
  policy: UsageTotals;
  proposer: UsageTotals;
}

export type UsageSide = keyof JobUsage;

export const ZERO_USAGE: UsageTotals = Object.freeze({ promptTokens: 0, completionTokens: 0, totalTokens: 0, calls: 0 });

export const ZERO_USAGE_COLUMNS = {
  policy_calls: 0, policy_prompt_tokens: 0, policy_completion_tokens: 0, policy_total_tokens: 0,
  proposer_calls: 0, proposer_prompt_tokens: 0, proposer_completion_tokens: 0, proposer_total_tokens: 0,
} as const;

/**
 * What one call adds. The usage object is the provider's (OpenAI's `usage`, also what the Anthropic
 * translation and the stream accumulator produce); anything not a finite count is ignored rather than
 * trusted, since it comes from an upstream. `total_tokens` missing: prompt + completion.
 */
export function usageOfCall(usage: Record<string, unknown> | null | undefined, failed: boolean): UsageTotals {
  if (!usage) return failed ? ZERO_USAGE : { ...ZERO_USAGE, calls: 1 };
  const promptTokens = count(usage.prompt_tokens);
  const completionTokens = count(usage.completion_tokens);
  const total = count(usage.total_tokens);
  return { promptTokens, completionTokens, totalTokens: total > 0 ? total : promptTokens + completionTokens, calls: 1 };
}

export function isZeroUsage(u: UsageTotals): boolean {
  return u.calls === 0 && u.promptTokens === 0 && u.completionTokens === 0 && u.totalTokens === 0;
}

export function addUsage(a: UsageTotals, b: UsageTotals): UsageTotals {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    calls: a.calls + b.calls,
  };
}

export function usageFromRow(r: JobsTable): JobUsage {
  return {
    policy: {
      promptTokens: Number(r.policy_prompt_tokens ?? 0), completionTokens: Number(r.policy_completion_tokens ?? 0),
      totalTokens: Number(r.policy_total_tokens ?? 0), calls: Number(r.policy_calls ?? 0),
    },
    proposer: {
      promptTokens: Number(r.proposer_prompt_tokens ?? 0), completionTokens: Number(r.proposer_completion_tokens ?? 0),
      totalTokens: Number(r.proposer_total_tokens ?? 0), calls: Number(r.proposer_calls ?? 0),
    },
  };
}

/** A ceiling no honest count reaches; it keeps one absurd upstream value from poisoning a bigint sum. */
const MAX_TOKENS_PER_CALL = 100_000_000;

function count(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(Math.round(v), MAX_TOKENS_PER_CALL) : 0;
}
