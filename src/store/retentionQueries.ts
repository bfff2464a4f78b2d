import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

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

export async function forgetEventTexts(db: Kysely<Database>, before: string): Promise<void> {
  for (const { eventType, key, scrub } of SCRUBS) {
    const rows = await db.selectFrom('events').select(['job_id', 'seq', 'data'])
      .where('event_type', '=', eventType).where('created_at', '<', before)
      .where((eb) => eb.or([eb('data', 'like', `%"${key}":"%`), eb('data', 'like', `%"${key}": "%`)])).execute();
    for (const r of rows) {
      const scrubbed = scrub(JSON.parse(r.data) as Record<string, unknown>);
      if (scrubbed === null) continue;
      await db.updateTable('events').set({ data: JSON.stringify(scrubbed) }).where('job_id', '=', r.job_id).where('seq', '=', r.seq).execute();
    }
  }
}
