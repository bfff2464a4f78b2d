import type { Kysely, Transaction } from 'kysely';
import { BASELINE_ID, newKeyId, newTenantId } from '../shared/ids.js';
import { JobGoneError } from '../shared/errors.js';
import type { KeyColumn } from './cursors.js';
import type { Database } from './schema.js';
import { demosColumn, toJob } from './rows.js';
import type { ApiKeyRecord, JobRecord, NewCandidate, NewEvent } from './types.js';

/**
 * Locks the job rows (PostgreSQL, in id order) before a transaction writes any row of those jobs:
 * kyselyStore.lockJobs, handed to the query modules that write a job's rows.
 */
export type LockJobs = (trx: Transaction<Database>, jobIds: string[]) => Promise<void>;

/** Statements and helpers shared by KyselyStore's methods (portable SQL for SQLite and PostgreSQL). */
export type Db = Kysely<Database> | Transaction<Database>;

export function toKey(r: Database['api_keys']): ApiKeyRecord {
  return { id: r.id, tenantId: r.tenant_id, name: r.name, prefix: r.prefix, createdAt: r.created_at, revokedAt: r.revoked_at };
}

/** A new tenant's row; its id. */
export async function insertTenant(db: Db, name: string, now: string): Promise<string> {
  const id = newTenantId();
  await db.insertInto('tenants').values({ id, name, created_at: now }).execute();
  return id;
}

export async function insertApiKey(db: Db, k: { tenantId: string; name: string; keyHash: string; prefix: string }, now: string): Promise<ApiKeyRecord> {
  const row = { id: newKeyId(), tenant_id: k.tenantId, name: k.name, key_hash: k.keyHash, prefix: k.prefix, created_at: now, revoked_at: null };
  await db.insertInto('api_keys').values(row).execute();
  return toKey(row);
}

export async function mustJob(db: Db, id: string): Promise<JobRecord> {
  const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new JobGoneError();
  return toJob(row);
}

/**
 * The per-job sequence is bumped on the job row, which also serialises event writers per job. A job
 * deleted meanwhile (its row gone) takes no event: JobGoneError, nothing written.
 */
export async function appendEventTx(trx: Db, jobId: string, e: NewEvent, now: string): Promise<number> {
  const row = await trx.updateTable('jobs').set((eb) => ({ event_seq: eb('event_seq', '+', 1), updated_at: now }))
    .where('id', '=', jobId).returning('event_seq').executeTakeFirst();
  if (!row) throw new JobGoneError();
  const seq = Number(row.event_seq);
  await insertEvent(trx, jobId, seq, e, now);
  return seq;
}

export async function insertEvent(trx: Db, jobId: string, seq: number, e: NewEvent, now: string): Promise<void> {
  await trx.insertInto('events').values({
    job_id: jobId, seq, event_type: e.eventType, message: e.message, data: JSON.stringify(e.data ?? {}), created_at: now,
  }).execute();
}

export function candidateRow(jobId: string, c: NewCandidate, ordinal: number, now: string): Database['candidates'] {
  return {
    job_id: jobId, id: c.id, parent_id: c.parentId, status: 'active', instruction: c.instruction, tip: c.tip,
    proposal_id: c.proposalId, ordinal, dispatches: 0, online_n: 0, online_mean: 0, online_m2: 0, unit_rewards: 1,
    val_n: 0, val_mean: 0, val_m2: 0, monitor_n: 0, monitor_mean: 0, monitor_m2: 0, monitor_unit: 1, created_at: now, retired_at: null, missing_flagged_at: null,
    module: c.module, instructions: JSON.stringify(c.instructions), demos: demosColumn(c.demos),
  };
}

export async function insertBaseline(trx: Db, jobId: string, instruction: string, now: string): Promise<void> {
  await trx.insertInto('candidates')
    .values(candidateRow(jobId, { id: BASELINE_ID, parentId: null, instruction, module: null, instructions: {}, tip: null, proposalId: null }, 0, now))
    .onConflict((oc) => oc.columns(['job_id', 'id']).doNothing()).execute();
}

const CANDIDATE_SORTS: Record<string, keyof Database['candidates']> = {
  created_at: 'created_at', avg_reward: 'online_mean', objective: 'online_mean', score: 'online_mean',
  reward: 'online_mean', rollout_count: 'dispatches', reward_count: 'online_n', val_score: 'val_mean',
};

type CandidateColumn = keyof Database['candidates'];

/**
 * A sort key given without a direction: a score (avg_reward and its aliases, reward_count,
 * rollout_count, val_score) lists the best first, which is what `--sort avg_reward` is asked for;
 * created_at stays oldest first. Resolved here, before the listing's digest is taken, so
 * `avg_reward` and `avg_reward:desc` are one listing and take each other's cursors.
 */
function defaultDirection(col: CandidateColumn): 'asc' | 'desc' {
  return col === 'created_at' ? 'asc' : 'desc';
}

/**
 * `objective:desc,created_at:desc` -> keyset columns; unknown keys are rejected by the API schema.
 * (ordinal, id) close the list so every row has a distinct position a cursor can resume after.
 */
export function candidateKeys(sort: string | undefined): KeyColumn<CandidateColumn>[] {
  const requested = (sort ?? '').split(',').flatMap((part) => {
    const [key, dir] = part.trim().split(':');
    const col = key ? CANDIDATE_SORTS[key] : undefined;
    return col ? [[col, dir === 'desc' || dir === 'asc' ? dir : defaultDirection(col)] as const] : [];
  });
  const keys: KeyColumn<CandidateColumn>[] = [];
  for (const [col, dir] of [...requested, ['ordinal', 'asc'] as const, ['id', 'asc'] as const]) {
    if (keys.some((k) => k.col === col)) continue;
    keys.push({ col, dir, kind: col === 'created_at' || col === 'id' ? 'text' : col.endsWith('_mean') ? 'number' : 'int' });
  }
  return keys;
}
export const CANDIDATE_SORT_KEYS = Object.keys(CANDIDATE_SORTS);

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e.message ?? '');
}
