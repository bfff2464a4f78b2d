import { usageOfCall } from '../../store/usage.js';
import type { JobRecord, Store } from '../../store/types.js';
import { crossedCap, exhaustedCap, type ProposerCaps } from '../core/spend.js';
import type { JobRuntime } from './jobRuntime.js';

export function proposerCaps(job: JobRecord): ProposerCaps {
  const { max_calls: maxCalls, max_total_tokens: maxTotalTokens } = job.config.mipro.proposer;
  return { maxCalls, maxTotalTokens };
}

/**
 * No proposal can add a candidate any more: the pool holds `online_proposer_max_candidates` (retired
 * ones count, as for proposals), or the proposer's spend reached a cap (`max_calls`,
 * `max_total_tokens`). Selection then turns to identification, and the stop rule may end the job.
 */
export function poolIsFinal(rt: JobRuntime): boolean {
  return rt.candidates.length >= rt.job.config.mipro.online_proposer_max_candidates
    || exhaustedCap(rt.job.usage.proposer, proposerCaps(rt.job)) !== null;
}

/**
 * The proposer's spend: every answered proposer call (proposals and the dataset summary alike) is
 * added to the job's counters, and the runtime's job takes the counters as stored, so the next
 * decision sees what every instance spent. The call that reaches a cap emits the one
 * `mipro.proposer.budget_exhausted` event.
 */
export async function recordProposerCall(store: Store, rt: JobRuntime, usage: Record<string, unknown> | null): Promise<void> {
  const delta = usageOfCall(usage, false);
  const after = await store.addProposerUsage(rt.job.id, delta);
  rt.job = { ...rt.job, usage: after.usage };
  const spent = after.usage.proposer;
  const before = { calls: spent.calls - delta.calls, totalTokens: spent.totalTokens - delta.totalTokens };
  const caps = proposerCaps(after);
  const cap = crossedCap(before, spent, caps);
  if (cap === null) return;
  const limit = cap === 'max_calls' ? caps.maxCalls : caps.maxTotalTokens;
  await store.appendEvent(rt.job.id, {
    eventType: 'mipro.proposer.budget_exhausted',
    message: `proposer ${cap} (${limit}) reached: no more proposals (${spent.calls} calls, ${spent.totalTokens} tokens)`,
    data: { cap, limit, calls: spent.calls, total_tokens: spent.totalTokens, prompt_tokens: spent.promptTokens, completion_tokens: spent.completionTokens },
  });
}
