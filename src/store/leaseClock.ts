import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Proposal leases are kept on one clock for the whole cluster: the database's. A lease is written by
 * one instance and found expired by another (the sweep, the next proposal's start); with each
 * instance's own clock a skew of S shortened or lengthened every lease by S, and once S passed the
 * lease's length (3 min by default) an instance ahead of the others found every live proposal of
 * theirs expired at once, failed it as "abandoned" and started its own beside it. PostgreSQL's
 * `clock_timestamp()` is read inside the statement's transaction (not `now()`, the transaction's
 * start: a lock wait would make it stale). SQLite is one process on one machine: its clock is the
 * store's.
 */
export async function databaseNowMs(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{ ms: number | string }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(db);
  const ms = Number(rows[0]?.ms);
  if (!Number.isFinite(ms)) throw new Error('the database did not answer its clock');
  return Math.floor(ms);
}

/** `leaseUntil` moved to start at `startMs`, keeping the length the runner asked for (`leaseUntil - now`). */
export function leaseEndFrom(startMs: number, p: { leaseUntil: string; now: string }): string {
  return new Date(startMs + (Date.parse(p.leaseUntil) - Date.parse(p.now))).toISOString();
}
