import type { ChatCompletion } from '../../schemas/openai.js';

/**
 * Why a proposer answer stopped at its token limit, for the failed proposal's error, or null when it
 * was not cut. A reasoning model (o3, gpt-5) counts its reasoning in that limit and can spend all of
 * it thinking: the answer comes back empty with finish_reason "length", which read as a bare
 * "unparseable reply" that gave the job owner no hint that `proposer.max_tokens` was the cause.
 */
export function cutOffNote(res: ChatCompletion, limit: number): string | null {
  if (res.choices[0]?.finish_reason !== 'length') return null;
  const details = (res.usage as { completion_tokens_details?: { reasoning_tokens?: unknown } } | null | undefined)?.completion_tokens_details;
  const reasoning = typeof details?.reasoning_tokens === 'number' && details.reasoning_tokens > 0 ? `, ${details.reasoning_tokens} of them reasoning` : '';
  return `the answer was cut off at its limit of ${limit} tokens${reasoning}: raise mipro.proposer.max_tokens`;
}
