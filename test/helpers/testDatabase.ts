import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from './postgres.js';

export type TestDb = 'sqlite' | 'postgres';

/** Where a test's servers keep their rows: the env that points them there, and how to remove it. */
export interface TestDatabase {
  /** DATABASE_URL (and DATABASE_SCHEMA): servers started with it share one database, as after a restart. */
  env: Record<string, string>;
  /** Drops the PostgreSQL schema; a SQLite file is left in its temporary directory. */
  drop(): Promise<void>;
}

/** A fresh SQLite file, or a fresh schema of the test PostgreSQL database; `prefix` names either. */
export function testDatabase(db: TestDb, prefix: string): TestDatabase {
  if (db === 'sqlite') {
    return { env: { DATABASE_URL: join(mkdtempSync(join(tmpdir(), `miprox-${prefix}-`)), 'miprox.db') }, drop: async () => {} };
  }
  const schema = uniqueSchema(prefix);
  return { env: { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema }, drop: () => dropPostgresSchema(PG_URL, schema) };
}

/** A logger at info that keeps each line at warn or above in `alarms`: for tests that promise a quiet log. */
export function alarmLogger(alarms: string[]): pino.Logger {
  return pino({ level: 'info' }, { write: (line: string) => void (JSON.parse(line).level >= 40 && alarms.push(line)) });
}
