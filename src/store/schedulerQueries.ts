import { JobGoneError } from '../shared/errors.js';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { appendEventTx, type LockJobs } from './statements.js';
import { FINAL_STATUSES, type JobStatus, type NewEvent, type NewRollout } from './types.js';

/**
 * The seed scheduler's statements (POST .../rollouts): portable SQL for both databases. Several
 * instances schedule for one job at once; the unique indexes of migration 0011 decide who gets a
 * bootstrap seed or a (candidate, val seed) pair, and the loser chooses again.
 */


export async function insertScheduledRollout(db: Kysely<Database>, lockJobs: LockJobs, r: NewRollout, event: NewEvent, now: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockJobs(trx, [r.jobId]);
    // The job may have ended since the scheduler read it (on another instance): under the lock, only
    // a monitoring rollout is still scheduled; the scheduler reads again and hands out one of those.
    // A job deleted since (its lookup was cached) takes no new rollout: a 404, as its next lookup will be.
    const job = await trx.selectFrom('jobs').select(['status', 'deleted_at']).where('id', '=', r.jobId).executeTakeFirst();
    if (!job || job.deleted_at !== null) throw new JobGoneError();
    if (r.split !== 'monitor' && FINAL_STATUSES.includes(job.status as JobStatus)) return false;
    // No conflict target: the id, the bootstrap seed and the (candidate, val seed) pair are all
    // unique; whichever one another instance took first, nothing is written.
    const res = await trx.insertInto('rollouts').values({
      job_id: r.jobId, id: r.id, candidate_id: r.candidateId, seed: r.seed, split: r.split,
      correlation_id: r.correlationId, status: 'dispatched', input_messages: r.inputMessages === null ? null : JSON.stringify(r.inputMessages),
      output_text: null, latency_ms: null, usage: null, call_count: 0, reward: null, created_at: now, updated_at: now,
    }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    // Counters in the same transaction as the row they count.
    await trx.updateTable('candidates').set((eb) => ({ dispatches: eb('dispatches', '+', 1) }))
      .where('job_id', '=', r.jobId).where('id', '=', r.candidateId).execute();
    await trx.updateTable('jobs').set((eb) => ({ rollout_count: eb('rollout_count', '+', 1) }))
      .where('id', '=', r.jobId).execute();
    await appendEventTx(trx, r.jobId, event, now);
    return true;
  });
}

export async function bootstrapSeedsIssued(db: Kysely<Database>, jobId: string): Promise<number[]> {
  const rows = await db.selectFrom('rollouts').select('seed').where('job_id', '=', jobId)
    .where('split', '=', 'bootstrap').where('seed', 'is not', null).execute();
  return rows.map((r) => Number(r.seed));
}
