import { newProposalId } from '../../src/shared/ids.js';
import type { Store } from '../../src/store/types.js';

/**
 * Adds one candidate program to a job as a finished proposal that changed `module` would (a child of
 * the baseline), straight through the store: for tests that need a known program.
 */
export async function addProgram(store: Store, jobId: string, id: string, instructions: Record<string, string>, module: string): Promise<void> {
  const now = new Date().toISOString();
  const lease = await store.startProposal({ jobId, id: newProposalId(), parentId: 'baseline', module, tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now });
  if (!lease) throw new Error(`job ${jobId} already has a running proposal`);
  await store.finishProposal({
    jobId, id: lease.id, status: 'succeeded', response: null, error: null, events: [],
    candidates: [{ id, parentId: 'baseline', instruction: instructions[module] ?? '', module, instructions, tip: 'none', proposalId: lease.id }],
  });
}
