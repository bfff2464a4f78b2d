import { usageOfCall } from '../../store/usage.js';
import type { Store } from '../../store/types.js';
import type { JobRuntime } from './jobRuntime.js';

/**
 * The proposer's spend: every answered proposer call (proposals and the dataset summary alike) is
 * added to the job's counters, and the runtime's job takes the counters as stored, so the next
 * decision sees what every instance spent.
 */
export async function recordProposerCall(store: Store, rt: JobRuntime, usage: Record<string, unknown> | null): Promise<void> {
  const after = await store.addProposerUsage(rt.job.id, usageOfCall(usage, false));
  rt.job = { ...rt.job, usage: after.usage };
}
