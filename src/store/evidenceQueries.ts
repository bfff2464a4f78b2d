import { type Kysely, sql } from 'kysely';
import type { MissingCounts } from '../optimizer/core/missingRewards.js';
import type { SeedCell } from '../optimizer/core/seedClusters.js';
import type { Database } from './schema.js';
import { appendEventTx, type LockJobs } from './statements.js';
import type { NewEvent } from './types.js';

/**
 * Missing rewards, derived from the rollout records themselves (so the counts survive restarts and
 * agree across instances): per candidate, the bootstrap and online rollouts dispatched before
 * `dispatchedBefore` (now minus the in-flight expiry) and how many of them still have no reward.
 * Val rollouts are left out: their reward arrives when the client runs the confirmation, which is
 * the scheduler's business, not the candidate's. Index rollouts_job_created (0005_missing_rewards)
 * makes this an index-only range scan.
 */
export async function missingRewardCounts(db: Kysely<Database>, jobId: string, dispatchedBefore: string): Promise<Map<string, MissingCounts>> {
  return (await missingRewardCountsOfJobs(db, [jobId], dispatchedBefore)).get(jobId) ?? new Map();
}

/** The same for several jobs in one statement (the jobs list), by job id; a job without such rollouts has no entry. */
export async function missingRewardCountsOfJobs(db: Kysely<Database>, jobIds: readonly string[], dispatchedBefore: string): Promise<Map<string, Map<string, MissingCounts>>> {
  const out = new Map<string, Map<string, MissingCounts>>();
  if (jobIds.length === 0) return out;
  const rows = await db.selectFrom('rollouts')
    .select(['job_id', 'candidate_id', (eb) => eb.fn.countAll<number | string>().as('due'),
      sql<number | string>`sum(case when reward is null then 1 else 0 end)`.as('missing')])
    .where('job_id', 'in', [...jobIds]).where('created_at', '<', dispatchedBefore).where('split', 'in', ['bootstrap', 'online'])
    .groupBy(['job_id', 'candidate_id']).orderBy('job_id').orderBy('candidate_id').execute();
  for (const r of rows) {
    const byCandidate = out.get(r.job_id) ?? new Map<string, MissingCounts>();
    byCandidate.set(r.candidate_id, { due: Number(r.due), missing: Number(r.missing) });
    out.set(r.job_id, byCandidate);
  }
  return out;
}

/**
 * Marks a candidate as having lost significantly more rewards than the control, with its event, the
 * first time only: the conditional update makes it once per candidate across instances and restarts.
 */
export async function flagMissingRewards(db: Kysely<Database>, lockJobs: LockJobs, jobId: string, candidateId: string, event: NewEvent, now: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    // The job row first, as every writer of a job's rows takes it: the candidate's row first and the
    // job's after (the event) deadlocked with the reward batch, which locks the job, then its candidates.
    await lockJobs(trx, [jobId]);
    const res = await trx.updateTable('candidates').set({ missing_flagged_at: now })
      .where('job_id', '=', jobId).where('id', '=', candidateId).where('missing_flagged_at', 'is', null).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    await appendEventTx(trx, jobId, event, now);
    return true;
  });
}

/**
 * Each candidate's training (bootstrap and online) rewards summed per seed: the cells of seed-level
 * statistics (core/seedClusters.ts). Read on the views, not on the hot path.
 */
export async function onlineSeedCells(db: Kysely<Database>, jobId: string): Promise<Map<string, SeedCell[]>> {
  return (await seedCellsOfJobs(db, [jobId], TRAINING)).get(jobId) ?? new Map();
}

/** The same cells for the rewards monitored after the end (split "monitor"): the guard's seed-level statistics. */
export async function monitorSeedCells(db: Kysely<Database>, jobId: string): Promise<Map<string, SeedCell[]>> {
  return (await seedCellsOfJobs(db, [jobId], MONITOR)).get(jobId) ?? new Map();
}

const TRAINING: SeedCellSplits = ['bootstrap', 'online'];
const MONITOR: SeedCellSplits = ['monitor'];
type SeedCellSplits = readonly ('bootstrap' | 'online' | 'monitor')[];

/** Training cells of several jobs in one statement (the jobs list), by job id then candidate id. */
export function onlineSeedCellsOfJobs(db: Kysely<Database>, jobIds: readonly string[]): Promise<Map<string, Map<string, SeedCell[]>>> {
  return seedCellsOfJobs(db, jobIds, TRAINING);
}

/** Monitor cells of several jobs in one statement (the jobs list), by job id then candidate id. */
export function monitorSeedCellsOfJobs(db: Kysely<Database>, jobIds: readonly string[]): Promise<Map<string, Map<string, SeedCell[]>>> {
  return seedCellsOfJobs(db, jobIds, MONITOR);
}

/**
 * One statement for one job or many, so a job's cells come in the same order either way: the
 * statistics sum them in that order, and a job view must not depend on how many jobs were read with it.
 */
async function seedCellsOfJobs(db: Kysely<Database>, jobIds: readonly string[], splits: SeedCellSplits): Promise<Map<string, Map<string, SeedCell[]>>> {
  const out = new Map<string, Map<string, SeedCell[]>>();
  if (jobIds.length === 0) return out;
  const rows = await db.selectFrom('rewards')
    .select(['job_id', 'candidate_id', 'seed', (eb) => eb.fn.countAll<number | string>().as('n'),
      sql<number | string>`sum(reward)`.as('sum'),
      // Rewards stored before ingestion rounded values below 1e-100 to 0 (services/rewardService.ts)
      // would make PostgreSQL raise on the square's underflow; their square is 0 in any double.
      sql<number | string>`sum(case when abs(reward) < 1e-100 then 0 else reward * reward end)`.as('sum_sq')])
    .where('job_id', 'in', [...jobIds]).where('split', 'in', [...splits])
    .groupBy(['job_id', 'candidate_id', 'seed']).orderBy('job_id').orderBy('candidate_id').orderBy('seed').execute();
  for (const r of rows) {
    const byCandidate = out.get(r.job_id) ?? new Map<string, SeedCell[]>();
    const cells = byCandidate.get(r.candidate_id) ?? [];
    cells.push({ seed: r.seed === null ? null : Number(r.seed), n: Number(r.n), sum: Number(r.sum), sumSq: Number(r.sum_sq) });
    byCandidate.set(r.candidate_id, cells);
    out.set(r.job_id, byCandidate);
  }
  return out;
}
