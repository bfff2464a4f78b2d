import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Dialect } from './migrations.js';

/** kysely's table of applied migrations, in the store's schema on PostgreSQL. */
export function migrationTable(schema?: string): RawBuilder<unknown> {
  return schema === undefined ? sql.table('kysely_migration') : sql.table(`${schema}.kysely_migration`);
}

/** Whether that table exists yet, looked up by name, not by kysely's introspection of every schema. */
async function migrationTableExists(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<boolean> {
  return dialect === 'postgres'
    ? (await sql<{ t: string | null }>`select to_regclass(${schema === undefined ? 'kysely_migration' : `"${schema.replaceAll('"', '""')}".kysely_migration`})::text as t`.execute(db)).rows[0]?.t != null
    : (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name = 'kysely_migration'`.execute(db)).rows.length > 0;
}

/** The names of the migrations applied so far: none while that table does not exist yet. */
export async function executedMigrationNames(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<string[]> {
  if (!(await migrationTableExists(db, dialect, schema))) return [];
  return (await sql<{ name: string }>`select name from ${migrationTable(schema)}`.execute(db)).rows.map((r) => r.name);
}
