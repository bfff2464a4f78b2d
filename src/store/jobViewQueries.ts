import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Database } from './schema.js';
import { toCandidate, toEvent, toModule, toProposal, toReward } from './rows.js';
import type { CandidateRecord, EventRecord, ModuleRecord, ProposalSummary, RewardRecord, ValSides } from './types.js';
import type { EventType } from './eventTypes.js';

/**
 * The job views' reads for several jobs at once (the jobs list): each one statement whatever the
 * number of jobs, answered by job id. Per job they return what the per-job reads of KyselyStore
 * return (same filters, same order), so a job's view does not depend on how it was read. Callers
 * pass a bounded batch (api/jobViewData.ts): the ids become bound parameters, and SQLite allows
 * 32,766 of them per statement.
 */

/** Rows grouped by job id, each group in the rows' order. */
function byJob<R extends { job_id: string }, T>(rows: readonly R[], map: (r: R) => T): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const list = out.get(r.job_id);
    if (list) list.push(map(r));
    else out.set(r.job_id, [map(r)]);
  }
  return out;
}

export async function candidatesOfJobs(db: Kysely<Database>, jobIds: readonly string[]): Promise<Map<string, CandidateRecord[]>> {
  if (jobIds.length === 0) return new Map();
  const rows = await db.selectFrom('candidates').selectAll().where('job_id', 'in', [...jobIds]).orderBy('job_id').orderBy('ordinal').execute();
  return byJob(rows, toCandidate);
}

export async function modulesOfJobs(db: Kysely<Database>, jobIds: readonly string[]): Promise<Map<string, ModuleRecord[]>> {
  if (jobIds.length === 0) return new Map();
  const rows = await db.selectFrom('modules').selectAll().where('job_id', 'in', [...jobIds]).orderBy('job_id').orderBy('ordinal').execute();
  return byJob(rows, toModule);
}

export async function unmatchedPromptCountsOfJobs(db: Kysely<Database>, jobIds: readonly string[]): Promise<Map<string, number>> {
  if (jobIds.length === 0) return new Map();
  const rows = await db.selectFrom('unmatched_prompts').select(['job_id', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('job_id', 'in', [...jobIds]).groupBy('job_id').execute();
  return new Map(rows.map((r) => [r.job_id, Number(r.n)]));
}

/** Each job's newest event of this type (a job without one has no entry). */
export async function latestEventsOfJobs(db: Kysely<Database>, jobIds: readonly string[], eventType: EventType): Promise<Map<string, EventRecord>> {
  if (jobIds.length === 0) return new Map();
  const newest = db.selectFrom('events').select(['job_id', (eb) => eb.fn.max('seq').as('seq')])
    .where('job_id', 'in', [...jobIds]).where('event_type', '=', eventType).groupBy('job_id').as('newest');
  const rows = await db.selectFrom('events').innerJoin(newest, (j) => j.onRef('newest.job_id', '=', 'events.job_id').onRef('newest.seq', '=', 'events.seq'))
    .selectAll('events').execute();
  return new Map(rows.map((r) => [r.job_id, toEvent(r)]));
}

/** Each job's proposal summary (as KyselyStore.proposalSummary): two statements for all the jobs. */
export async function proposalSummariesOfJobs(db: Kysely<Database>, jobIds: readonly string[]): Promise<Map<string, ProposalSummary>> {
  const out = new Map<string, ProposalSummary>();
  if (jobIds.length === 0) return out;
  const ids = [...jobIds];
  const newest = db.selectFrom('proposals').select(['job_id', (eb) => eb.fn.max('seq').as('seq')]).where('job_id', 'in', ids).groupBy('job_id').as('newest');
  const [latest, failed] = await Promise.all([
    db.selectFrom('proposals').innerJoin(newest, (j) => j.onRef('newest.job_id', '=', 'proposals.job_id').onRef('newest.seq', '=', 'proposals.seq'))
      .select(['proposals.job_id', 'proposals.id', 'proposals.seq', 'proposals.parent_id', 'proposals.module', 'proposals.tip', 'proposals.status',
        'proposals.error', 'proposals.candidate_ids', 'proposals.lease_until', 'proposals.created_at', 'proposals.finished_at'])
      .execute(),
    db.selectFrom('proposals').select(['job_id', (eb) => eb.fn.countAll<string | number>().as('n')])
      .where('job_id', 'in', ids).where('status', '=', 'failed').groupBy('job_id').execute(),
  ]);
  const failedOf = new Map(failed.map((r) => [r.job_id, Number(r.n)]));
  for (const row of latest) {
    const { prompt: _prompt, response: _response, ...brief } = toProposal({ ...row, prompt: '[]', response: null });
    out.set(row.job_id, { failed: failedOf.get(row.job_id) ?? 0, latest: brief });
  }
  return out;
}

/** `(job_id = ? and candidate_id in (...)) or ...`: exactly the listed candidates of each job (rewards and rollouts alike). */
function sidesFilter(sides: ValSides): RawBuilder<SqlBool> {
  return sql<SqlBool>`(${sql.join(sides.map((s) => sql`(job_id = ${s.jobId} and candidate_id in (${sql.join([...s.candidateIds])}))`), sql` or `)})`;
}

/**
 * The listed candidates' val rewards with a seed, per job, each candidate's first `limit` in arrival
 * order (created_at, rollout_id), as KyselyStore.listSeedEvals pages them; grouped by job id, in
 * that order per candidate.
 */
export async function valRewardsOfJobs(db: Kysely<Database>, sides: ValSides): Promise<Map<string, RewardRecord[]>> {
  const asked = sides.filter((s) => s.candidateIds.length > 0);
  if (asked.length === 0) return new Map();
  const limitOf = new Map(asked.map((s) => [s.jobId, s.limit]));
  const most = Math.max(...asked.map((s) => s.limit));
  const ranked = db.selectFrom('rewards').selectAll()
    .select(sql<number | string>`row_number() over (partition by job_id, candidate_id order by created_at, rollout_id)`.as('rank'))
    .where('split', '=', 'val').where('seed', 'is not', null).where(sidesFilter(asked)).as('ranked');
  const rows = await db.selectFrom(ranked).selectAll().where('rank', '<=', most)
    .orderBy('job_id').orderBy('candidate_id').orderBy('created_at').orderBy('rollout_id').execute();
  return byJob(rows.filter((r) => Number(r.rank) <= (limitOf.get(r.job_id) ?? 0)), toReward);
}

/** KyselyStore.valRunTimes for several jobs at once, by job id. */
export async function valRunTimesOfJobs(db: Kysely<Database>, sides: ValSides): Promise<Map<string, Map<string, Record<number, number>>>> {
  const out = new Map<string, Map<string, Record<number, number>>>();
  const asked = sides.filter((s) => s.candidateIds.length > 0);
  if (asked.length === 0) return out;
  const rows = await db.selectFrom('rollouts').select(['job_id', 'candidate_id', 'seed', 'created_at'])
    .where('split', '=', 'val').where('seed', 'is not', null).where(sidesFilter(asked)).execute();
  for (const r of rows) {
    const byCandidate = out.get(r.job_id) ?? new Map<string, Record<number, number>>();
    const bySeed = byCandidate.get(r.candidate_id) ?? {};
    bySeed[Number(r.seed)] = Date.parse(r.created_at);
    byCandidate.set(r.candidate_id, bySeed);
    out.set(r.job_id, byCandidate);
  }
  return out;
}
