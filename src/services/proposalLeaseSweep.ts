import type { Logger } from '../shared/logger.js';
import type { Store } from '../store/types.js';

/** How often each instance looks for abandoned proposals by default. */
export const DEFAULT_PROPOSAL_SWEEP_MS = 10_000;

export interface ProposalLeaseSweep {
  /** Stops the schedule and waits for a pass in progress (before the store closes). */
  stop(): Promise<void>;
}

/**
 * Fails proposals whose lease ran out (Store.closeExpiredProposals), on every instance, every
 * `intervalMs`. Without it a proposal whose instance died stayed `running` until the job's next
 * proposal released its lease: forever on a job that no longer proposes (paused, at its candidate
 * limit, or idle), and clients and the dashboard read that as work in progress. Cheap when there is
 * nothing to close (one read on the running-proposals index); a failed pass is logged and retried.
 */
export function startProposalLeaseSweep(deps: { store: Store; log: Logger; intervalMs?: number }): ProposalLeaseSweep {
  let running: Promise<void> | null = null;
  const pass = (): void => {
    if (running) return;
    running = deps.store.closeExpiredProposals().then(
      (closed) => {
        for (const p of closed) deps.log.warn({ jobId: p.jobId, proposalId: p.proposalId, error: p.error }, 'proposal abandoned: its lease expired');
      },
      (err: unknown) => deps.log.error({ err }, 'proposal lease sweep failed'),
    ).finally(() => {
      running = null;
    });
  };
  const timer = setInterval(pass, deps.intervalMs ?? DEFAULT_PROPOSAL_SWEEP_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
