import { type Kysely, sql } from 'kysely';
import { migrationTable } from './migrationTable.js';

/**
 * Migrations that main once recorded under another name. For eleven minutes on 2026-12-02 (commits
 * 4cacf9e and 7afbcbc) two merged branches each numbered theirs 0005; the next commit renamed them
 * 0006 and 0007 with the same statements. A database made by those builds holds the old names, which
 * this release does not know, while its own 0006 and 0007 seem pending: it was refused as "migrated
 * by another build", although its tables are exactly this release's at 0007.
 */
const RENAMED: readonly { from: string; to: string }[] = [
  { from: '0005_reward_range', to: '0006_reward_range' },
  { from: '0005_usage_counters', to: '0007_usage_counters' },
];

/**
 * Records those migrations under their current names, so the migrator sees them as applied, and
 * returns `executed` (the applied names, read once by the caller) with the same renames. Only a name
 * whose current one is not recorded yet is changed: run again, or by two instances at once, it
 * changes nothing more. Nothing is written unless an old name is there: this runs at every start, and
 * a write stopped a start on a read-only database (a standby, a file it may not write) before the
 * check that names that.
 */
export async function adoptRenamedMigrations(db: Kysely<unknown>, executed: readonly string[], schema?: string): Promise<string[]> {
  const renames = RENAMED.filter(({ from }) => executed.includes(from));
  if (renames.length === 0) return [...executed];
  const table = migrationTable(schema);
  for (const { from, to } of renames) {
    await sql`update ${table} set name = ${to}
      where name = ${from} and not exists (select 1 from ${table} k where k.name = ${to})`.execute(db);
  }
  // Renamed here or, if the current name was there already, by another instance meanwhile.
  return executed.map((name) => renames.find((r) => r.from === name)?.to ?? name);
}
