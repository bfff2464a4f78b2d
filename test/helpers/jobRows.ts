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

const INPUT = JSON.stringify([{ role: 'user', content: 'lorem ipsum dolor sit amet '.repeat(11) }]);
const OUTPUT = 'the customer reports a stolen card and asks to block it '.repeat(2);

/**
 * `n` rollouts of the job's baseline written directly with SQL, each with a call record (~300
 * characters of input, ~100 of output, as a one-module job keeps), a reward and a reward event: a big
 * job in seconds, for deletion tests and bench:job-delete.
 */
export async function insertRollouts(store: Store, jobId: string, n: number): Promise<void> {
  const db = dbOf(store);
  const now = new Date().toISOString();
  const series = store.dialect === 'sqlite'
    ? sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${n}) select i from s`
    : sql`select i from generate_series(1, ${n}) as g(i)`;
  const id = store.dialect === 'sqlite' ? sql`'r' || i` : sql`'r' || i::text`;
  await sql`insert into rollouts (job_id, id, candidate_id, seed, split, correlation_id, status, input_messages, output_text, latency_ms, usage, call_count, reward, created_at, updated_at)
    select ${jobId}, ${id}, 'baseline', null, 'online', null, 'completed', ${INPUT}, ${OUTPUT}, 12.5, null, 1, i % 2, ${now}, ${now} from (${series}) as x`.execute(db);
  await sql`insert into rollout_calls (job_id, rollout_id, seq, module, input_messages, variables, output_text, latency_ms, usage, failed, created_at, tool_calls, own_system_text)
    select ${jobId}, ${id}, 1, 'main', ${INPUT}, null, ${OUTPUT}, 12.5, '{"total_tokens":120}', 0, ${now}, 0, 0 from (${series}) as x`.execute(db);
  await sql`insert into rewards (job_id, rollout_id, candidate_id, reward, split, seed, metadata, created_at, feedback, feedback_by_module)
    select ${jobId}, ${id}, 'baseline', i % 2, 'online', null, null, ${now}, null, null from (${series}) as x`.execute(db);
  await sql`insert into events (job_id, seq, event_type, message, data, created_at)
    select ${jobId}, 1000 + i, 'mipro.reward.received', 'reward 1 for rollout', '{"rollout_id":"r","reward":1,"split":"online","candidate_id":"baseline"}', ${now} from (${series}) as x`.execute(db);
}
