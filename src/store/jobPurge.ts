import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect } from './migrations.js';
import { FINAL_STATUSES } from './types.js';


/**
 * A deleted job's rows, removed a slice at a time: the tables that grow with traffic first (their
 * rows are most of the job), the few per-job rows after, the job row itself last. Every table of
 * schema.ts keyed on a job is here; `jobs` is the final step.
 */
export const JOB_TABLES = ['rollout_calls', 'rewards', 'events', 'rollouts', 'proposals', 'candidates', 'modules', 'unmatched_prompts'] as const;
type JobTable = (typeof JOB_TABLES)[number];

/**
 * Rows one delete statement removes. A job can hold millions of rows; one statement for it held
 * SQLite's single write lock (every other job's calls and rewards waited) for as long as it took,
 * and on PostgreSQL one transaction's worth of row locks and WAL. A SQLite slice of 1,000 is about
 * 1-3 ms (a row of rollouts carries five indexes; 2,000 was about 5 ms), and the caller pauses
 * between slices (services/jobPurger.ts), so other jobs' requests pass in between
 * (`npm run bench:job-delete` measures their latency meanwhile). PostgreSQL does the work on its
 * own server: larger slices there cost the instance nothing but a round trip each.
 */
export const PURGE_SLICE_ROWS: Record<Dialect, number> = { sqlite: 1_000, postgres: 5_000 };

/**
 * Marks an ended job deleted, in one statement: from this commit on no read finds it (getJob and the
 * lists filter `deleted_at`), on every instance. False when the job is not there, already deleted, or
 * not ended (running or paused jobs are refused by the caller first; this re-checks at the write).
 */
export async function markJobDeleted(db: Kysely<Database>, jobId: string, now: string): Promise<boolean> {
  const res = await db.updateTable('jobs').set({ deleted_at: now, updated_at: now })
    .where('id', '=', jobId).where('deleted_at', 'is', null).where('status', 'in', [...FINAL_STATUSES]).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Jobs marked deleted whose rows are not all gone yet (a purge to run, or to resume after a restart). */
export async function deletedJobIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('jobs').select('id').where('deleted_at', 'is not', null).orderBy('deleted_at').execute();
  return rows.map((r) => r.id);
}

/**
 * Slices in a row that found rows of the job left in the table yet removed none of them (PostgreSQL:
 * each row had moved, see purgeJob) before the table's rest is left to the final transaction.
 */
const MAX_EMPTY_SLICES = 3;

/** Whether `table` still holds a row of the job. */
async function anyLeft(db: Kysely<Database>, table: JobTable, jobId: string): Promise<boolean> {
  const row = await db.selectFrom(table).select('job_id').where('job_id', '=', jobId).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** One slice of `table`'s rows of the job; how many it removed. */
async function deleteSlice(db: Kysely<Database>, dialect: Dialect, table: JobTable, jobId: string, limit: number): Promise<number> {
  const t = sql.table(table);
  // By the row's physical address (rowid, ctid), found through the job's index: no sort, no key
  // comparison of the table's own primary key (proposals' is not the job's).
  const res = dialect === 'sqlite'
    ? await sql`delete from ${t} where rowid in (select rowid from ${t} where job_id = ${jobId} limit ${limit})`.execute(db)
    : await sql`delete from ${t} where ctid = any(array(select ctid from ${t} where job_id = ${jobId} limit ${limit}))`.execute(db);
  return Number(res.numAffectedRows ?? 0);
}

export interface PurgeOptions {
  /** Awaited between slices (the event loop turns there); stops the purge when it answers false (a shutdown). */
  between: () => Promise<boolean>;
  sliceRows?: number;
}

/**
 * Removes a deleted job's rows slice by slice, then, in one transaction, whatever a write that was
 * in flight at the delete added meanwhile together with the job row. Once the job row is gone, the
 * foreign keys refuse any later write of the job (an upstream answer, a reward or a proposal that
 * outlived the delete): nothing can come back. The rows removed, or null when stopped before the
 * end (the next pass, on any instance or after a restart, resumes: every step is idempotent).
 */
export async function purgeJob(db: Kysely<Database>, dialect: Dialect, jobId: string, opts: PurgeOptions): Promise<number | null> {
  const limit = opts.sliceRows ?? PURGE_SLICE_ROWS[dialect];
  let removed = 0;
  for (const table of JOB_TABLES) {
    for (let empty = 0; ;) {
      const n = await deleteSlice(db, dialect, table, jobId, limit);
      removed += n;
      if (!(await opts.between())) return null;
      // Until the table holds no row of the job (not merely a short slice: on PostgreSQL another
      // instance purging the same job meanwhile makes a slice skip the rows it deletes, and stopping
      // there would leave the rest to the final transaction, as one statement). On PostgreSQL a slice
      // may also remove nothing while rows are left: a row updated by another transaction after the
      // slice read its address (a retention pass, a late call record) has moved and is skipped; the
      // next slice reads its new address. SQLite's single writer moves no row under a slice.
      if (n > 0) empty = 0;
      else if (dialect === 'sqlite' || ++empty >= MAX_EMPTY_SLICES || !(await anyLeft(db, table, jobId))) break;
    }
  }
  removed += await db.transaction().execute(async (trx) => {
    // PostgreSQL: the job row locked first, as every writer of the job locks it: a batch in flight
    // commits before this, or waits and then meets the foreign key.
    if (dialect === 'postgres') await trx.selectFrom('jobs').select('id').where('id', '=', jobId).forUpdate().execute();
    let n = 0;
    for (const table of JOB_TABLES) n += Number((await trx.deleteFrom(table).where('job_id', '=', jobId).executeTakeFirst()).numDeletedRows);
    const job = await trx.deleteFrom('jobs').where('id', '=', jobId).where('deleted_at', 'is not', null).executeTakeFirst();
    return n + Number(job.numDeletedRows);
  });
  return removed;
}
