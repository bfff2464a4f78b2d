import { type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect } from './migrations.js';

/**
 * Rows one SQLite retention statement covers. SQLite runs a statement on the server's own thread, so a
 * pass as one statement per table stopped every request for as long as it scanned: each pass reads
 * every row of its tables (rows stay when their text goes), about 0.5 s per million rollouts of a
 * one-module job and several seconds for a long-running program's calls, hourly. Slices of this many
 * rows (by rowid, a few milliseconds each) with a turn of the event loop between them keep that
 * work off the requests' way. PostgreSQL runs each table's statement once, on the database server.
 */
export const RETENTION_SLICE_ROWS = 10_000;

/** The rows of one slice of a table, as a condition (on PostgreSQL: every row). */
type Slice = Expression<SqlBool>;

/** Calls `pass` for every slice of `table` (one on PostgreSQL), yielding to the event loop between them; the sum of what it returns. */
async function overSlices(db: Kysely<Database>, dialect: Dialect, table: keyof Database, pass: (slice: Slice) => Promise<number>): Promise<number> {
  if (dialect === 'postgres') return pass(sql<SqlBool>`true`);
  const top = await sql<{ top: number | null }>`select max(rowid) as top from ${sql.table(table)}`.execute(db);
  const last = Number(top.rows[0]?.top ?? 0);
  let n = 0;
  // Rows are never deleted, so rowids are dense; rows added during the pass are newer than its cut.
  for (let from = 0; from < last; from += RETENTION_SLICE_ROWS) {
    n += await pass(sql<SqlBool>`rowid > ${from} and rowid <= ${from + RETENTION_SLICE_ROWS}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return n;
}

/**
 * RETENTION_DAYS (services/retention.ts): clears the texts of the app's calls older than `before` from
 * every table that keeps them; the number of rollouts cleared.
 */
export async function forgetCallText(db: Kysely<Database>, dialect: Dialect, before: string): Promise<number> {
  const n = await overSlices(db, dialect, 'rollouts', async (slice) => Number((await db.updateTable('rollouts').set({ input_messages: null, output_text: null })
    .where(slice).where('updated_at', '<', before)
    .where((eb) => eb.or([eb('input_messages', 'is not', null), eb('output_text', 'is not', null)]))
    .executeTakeFirst()).numUpdatedRows));
  // Each call's own record holds the same kind of text (and its template variables).
  await overSlices(db, dialect, 'rollout_calls', async (slice) => Number((await db.updateTable('rollout_calls').set({ input_messages: null, output_text: null, variables: null })
    .where(slice).where('created_at', '<', before)
    .where((eb) => eb.or([eb('input_messages', 'is not', null), eb('output_text', 'is not', null), eb('variables', 'is not', null)]))
    .executeTakeFirst()).numUpdatedRows));
  // Feedback texts are the app's words about those calls: they go with them (the score stays).
  await overSlices(db, dialect, 'rewards', async (slice) => Number((await db.updateTable('rewards').set({ feedback: null, feedback_by_module: null })
    .where(slice).where('created_at', '<', before)
    .where((eb) => eb.or([eb('feedback', 'is not', null), eb('feedback_by_module', 'is not', null)]))
    .executeTakeFirst()).numUpdatedRows));
  // A grounded proposer's prompt quotes those calls' inputs and outputs, and its answer may quote
  // them back: both go once the proposal is over. The candidates it made (the program) stay.
  await db.updateTable('proposals').set({ prompt: '[]', response: null })
    .where('finished_at', '<', before)
    .where((eb) => eb.or([eb('prompt', '!=', '[]'), eb('response', 'is not', null)]))
    .execute();
  await overSlices(db, dialect, 'events', async (slice) => {
    await forgetEventTexts(db, before, slice);
    return 0;
  });
  return n;
}

/**
 * Retention (RETENTION_DAYS) for the texts events keep of the app's calls. Each entry: an event type,
 * a LIKE pattern that finds events still holding the text (in JSON.stringify's form and in jsonb's,
 * which puts a space after the colon), and how to scrub it. Rewritten in code, not SQL: the two
 * databases share no JSON function, and such events are few (one per distinct unmatched text, one
 * per proposal).
 */
const SCRUBS: ReadonlyArray<{ eventType: string; key: string; scrub: (data: Record<string, unknown>) => Record<string, unknown> | null }> = [
  // The unmatched system text's 200-character preview: the hash and length stay, so the event still identifies the text.
  { eventType: 'mipro.module.unmatched', key: 'preview', scrub: (d) => (typeof d.preview === 'string' ? { ...d, preview: null } : null) },
  // A proposal's rejected answers (up to 200 characters each; an unparseable reply's start): the reasons stay.
  {
    eventType: 'mipro.proposal.created', key: 'text',
    scrub: (d) => Array.isArray(d.rejected) && d.rejected.some((r) => typeof (r as { text?: unknown }).text === 'string')
      ? { ...d, rejected: d.rejected.map((r) => ({ ...(r as object), text: null })) }
      : null,
  },
];

async function forgetEventTexts(db: Kysely<Database>, before: string, slice: Slice): Promise<void> {
  for (const { eventType, key, scrub } of SCRUBS) {
    const rows = await db.selectFrom('events').select(['job_id', 'seq', 'data'])
      .where(slice).where('event_type', '=', eventType).where('created_at', '<', before)
      .where((eb) => eb.or([eb('data', 'like', `%"${key}":"%`), eb('data', 'like', `%"${key}": "%`)])).execute();
    for (const r of rows) {
      const scrubbed = scrub(JSON.parse(r.data) as Record<string, unknown>);
      if (scrubbed === null) continue;
      await db.updateTable('events').set({ data: JSON.stringify(scrubbed) }).where('job_id', '=', r.job_id).where('seq', '=', r.seq).execute();
    }
  }
}
