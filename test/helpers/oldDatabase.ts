import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type Dialect, migrateTo } from '../../src/store/migrations.js';
import { ownSchemaPostgresDialect } from '../../src/store/postgres/ownSchemaDialect.js';
import { PG_URL } from './postgres.js';

/**
 * A database migrated up to an earlier release's last migration (`upTo`), for a migration test to
 * fill with old-shape rows: a new SQLite file, or a new PostgreSQL schema (the caller drops it).
 */
export async function openOldDatabase(dialect: Dialect, schema: string, upTo: string): Promise<Kysely<unknown>> {
  return (await openOldDatabaseWithEnv(dialect, schema, upTo)).db;
}

/** The same, with the environment a server opens that database with (DATABASE_URL, and DATABASE_SCHEMA on PostgreSQL). */
export async function openOldDatabaseWithEnv(dialect: Dialect, schema: string, upTo: string): Promise<{ db: Kysely<unknown>; env: Record<string, string> }> {
  let db: Kysely<unknown>;
  let env: Record<string, string>;
  if (dialect === 'sqlite') {
    const file = join(mkdtempSync(join(tmpdir(), `miprox-${schema}-`)), 'old.db');
    db = new Kysely({ dialect: new SqliteDialect({ database: new BetterSqlite3(file) }) });
    env = { DATABASE_URL: file };
  } else {
    const setup = new pg.Client({ connectionString: PG_URL });
    await setup.connect();
    await setup.query(`create schema "${schema}"`);
    await setup.end();
    db = new Kysely({ dialect: ownSchemaPostgresDialect({ pool: new pg.Pool({ connectionString: PG_URL, options: `-c search_path="${schema}"` }) }, schema) });
    env = { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema };
  }
  await migrateTo(db, dialect, upTo, dialect === 'postgres' ? schema : undefined);
  return { db, env };
}
