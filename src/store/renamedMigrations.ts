import { type Kysely, sql } from 'kysely';
import { migrationTable, migrationTableExists } from './migrationTable.js';
import type { Dialect } from './migrations.js';

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
 * Records those migrations under their current names, so the migrator sees them as applied. Only a
 * name whose current one is not recorded yet is changed: run again, or by two instances at once, it
 * changes nothing more.
 */
export async function adoptRenamedMigrations(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<void> {
  if (!(await migrationTableExists(db, dialect, schema))) return;
  const table = migrationTable(schema);
  // A read first: this runs at every start, and a write here stopped a start on a read-only database
  // (a standby, a file it may not write) before the check that names that.
  const old = await sql<{ name: string }>`select name from ${table} where name in (${sql.join(RENAMED.map((r) => r.from))})`.execute(db);
  if (old.rows.length === 0) return;
  for (const { from, to } of RENAMED) {
    await sql`update ${table} set name = ${to}
      where name = ${from} and not exists (select 1 from ${table} k where k.name = ${to})`.execute(db);
  }
}
