import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/types.js';
import { type PeriodicTask, startPeriodicTask } from '../shared/periodicTask.js';

/** How often each instance looks for abandoned proposals by default. */
export const DEFAULT_PROPOSAL_SWEEP_MS = 10_000;

/**
 * Fails proposals whose lease ran out (Store.closeExpiredProposals), on every instance, every
 * `intervalMs`. Without it a proposal whose instance died stayed `running` until the job's next
 * proposal released its lease: forever on a job that no longer proposes (paused, at its candidate
 * limit, or idle), and clients and the dashboard read that as work in progress. Cheap when there is
 * nothing to close (one read on the running-proposals index); a failed pass is logged and retried.
 */
export function startProposalLeaseSweep(deps: { store: Store; log: Logger; intervalMs?: number }): PeriodicTask {
  return startPeriodicTask(async () => {
    try {
      for (const p of await deps.store.closeExpiredProposals()) deps.log.warn({ jobId: p.jobId, proposalId: p.proposalId, error: p.error }, 'proposal abandoned: its lease expired');
    } catch (err) {
      deps.log.error({ err }, 'proposal lease sweep failed');
    }
  }, deps.intervalMs ?? DEFAULT_PROPOSAL_SWEEP_MS);
}
