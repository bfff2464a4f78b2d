import { type Kysely, sql } from 'kysely';
import type { MissingCounts } from '../optimizer/core/missingRewards.js';
import type { SeedCell } from '../optimizer/core/seedClusters.js';
import type { Database } from './schema.js';
import { appendEventTx } from './statements.js';
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
  const rows = await db.selectFrom('rollouts')
    .select(['candidate_id', (eb) => eb.fn.countAll<number | string>().as('due'),
      sql<number | string>`sum(case when reward is null then 1 else 0 end)`.as('missing')])
    .where('job_id', '=', jobId).where('created_at', '<', dispatchedBefore).where('split', 'in', ['bootstrap', 'online'])
    .groupBy('candidate_id').execute();
  return new Map(rows.map((r) => [r.candidate_id, { due: Number(r.due), missing: Number(r.missing) }]));
}

/**
 * Marks a candidate as having lost significantly more rewards than the control, with its event, the
 * first time only: the conditional update makes it once per candidate across instances and restarts.
 */
export async function flagMissingRewards(db: Kysely<Database>, jobId: string, candidateId: string, event: NewEvent, now: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
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
export function onlineSeedCells(db: Kysely<Database>, jobId: string): Promise<Map<string, SeedCell[]>> {
  return seedCells(db, jobId, ['bootstrap', 'online']);
}

/** The same cells for the rewards monitored after the end (split "monitor"): the guard's seed-level statistics. */
export function monitorSeedCells(db: Kysely<Database>, jobId: string): Promise<Map<string, SeedCell[]>> {
  return seedCells(db, jobId, ['monitor']);
}

async function seedCells(db: Kysely<Database>, jobId: string, splits: ('bootstrap' | 'online' | 'monitor')[]): Promise<Map<string, SeedCell[]>> {
  const rows = await db.selectFrom('rewards')
    .select(['candidate_id', 'seed', (eb) => eb.fn.countAll<number | string>().as('n'),
      sql<number | string>`sum(reward)`.as('sum'),
      // Rewards stored before ingestion rounded values below 1e-100 to 0 (services/rewardService.ts)
      // would make PostgreSQL raise on the square's underflow; their square is 0 in any double.
      sql<number | string>`sum(case when abs(reward) < 1e-100 then 0 else reward * reward end)`.as('sum_sq')])
    .where('job_id', '=', jobId).where('split', 'in', splits)
    .groupBy(['candidate_id', 'seed']).execute();
  const out = new Map<string, SeedCell[]>();
  for (const r of rows) {
    const cells = out.get(r.candidate_id) ?? [];
    cells.push({ seed: r.seed === null ? null : Number(r.seed), n: Number(r.n), sum: Number(r.sum), sumSq: Number(r.sum_sq) });
    out.set(r.candidate_id, cells);
  }
  return out;
}
