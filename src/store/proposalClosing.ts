import type { ClosedProposal, JobStatus, NewEvent } from './types.js';
import { type Db, appendEventTx } from './statements.js';

/** The event of every failed proposal, whoever ends it (its runner, a sweep, the job's end). */
export function proposalFailedEvent(proposalId: string, seq: number, error: string): NewEvent {
  return { eventType: 'mipro.proposal.failed', message: `proposal ${seq} failed: ${error}`, data: { proposal_id: proposalId, seq, error } };
}

/** The error of a proposal that was running when its job ended (its runner and the job's end both write it). */
export function jobEndedError(status: JobStatus): string {
  return `the job ${status} while the proposal ran: no candidates added`;
}

/** Why a running proposal is ended by someone other than its runner. */
export type ClosingReason =
  /** Its lease ran out before this time: the instance running it died or lost the database. */
  | { leaseExpiredBefore: string }
  /** The job reached this final status: nothing the proposal could still add would count. */
  | { jobEnded: JobStatus };

/**
 * Fails the job's running proposal(s) for `reason`, each with its mipro.proposal.failed event, in the
 * caller's transaction, which must hold the job row's lock (or, as transitionJob, have updated it):
 * with the lock, a runner finishing at the same moment (finishProposal takes it first too) either
 * ends the proposal before this looks or finds it failed and adds nothing, so exactly one of them
 * ends it and one event is written. The job has at most one running proposal (the lease's index).
 */
export async function closeRunningProposals(trx: Db, jobId: string, reason: ClosingReason, now: string): Promise<ClosedProposal[]> {
  let q = trx.selectFrom('proposals').select(['id', 'seq', 'lease_until']).where('job_id', '=', jobId).where('status', '=', 'running');
  if ('leaseExpiredBefore' in reason) q = q.where('lease_until', '<', reason.leaseExpiredBefore);
  const closed: ClosedProposal[] = [];
  for (const p of await q.execute()) {
    const error = 'jobEnded' in reason
      ? jobEndedError(reason.jobEnded)
      : `lease expired at ${p.lease_until}: the instance running it stopped (or lost the database) before finishing it`;
    const res = await trx.updateTable('proposals').set({ status: 'failed', error, finished_at: now })
      .where('job_id', '=', jobId).where('id', '=', p.id).where('status', '=', 'running').executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) continue;
    await appendEventTx(trx, jobId, proposalFailedEvent(p.id, Number(p.seq), error), now);
    closed.push({ jobId, proposalId: p.id, seq: Number(p.seq), error });
  }
  return closed;
}
