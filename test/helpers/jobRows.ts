import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/store/schema.js';
import type { Store } from '../../src/store/types.js';
import { JOB_TABLES } from '../../src/store/jobPurge.js';

/** The kysely handle of a server's store (guarded or not): tests read and write rows with it. */
export function dbOf(store: Store): Kysely<Database> {
  return (store as unknown as { db: Kysely<Database> }).db;
}

/** How many rows each table keyed on a job holds for `jobId` (`jobs`: its own row, deleted or not). */
export async function jobRowCounts(store: Store, jobId: string): Promise<Record<string, number>> {
  const db = dbOf(store);
  const counts: Record<string, number> = {};
  for (const table of JOB_TABLES) {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)} where job_id = ${jobId}`.execute(db);
    counts[table] = Number(r.rows[0]?.n ?? 0);
  }
  const job = await sql<{ n: number | string }>`select count(*) as n from jobs where id = ${jobId}`.execute(db);
  counts.jobs = Number(job.rows[0]?.n ?? 0);
  return counts;
}

export function totalRows(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
