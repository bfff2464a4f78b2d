import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { runCli } from '../helpers/childServer.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

const LATEST = '0012_call_tool_calls';

/** `miprox migrate` (docs/deploy.md, rolling upgrades): run once before instances of a release start. */
describe('miprox migrate', () => {
  const schema = uniqueSchema('migcli');
  afterAll(async () => dropPostgresSchema(PG_URL, schema));

  it('brings a new PostgreSQL schema to the latest migration, also when two copies run at once, and again as a no-op', async () => {
    const env = { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: '', LOG_LEVEL: 'silent' };
    const both = await Promise.all([runCli(['migrate', '--json'], env), runCli(['migrate', '--json'], env)]);
    for (const run of both) {
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout) as { latest: string; migrations: string[]; database: string };
      expect(out.latest).toBe(LATEST);
      expect(out.migrations[0]).toBe('0001_initial');
      expect(new Set(out.migrations).size).toBe(out.migrations.length);
      expect(out.database).toContain(schema);
    }
    const again = await runCli(['migrate'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`is at migration ${LATEST} \\(\\d+ migrations applied in all\\)`));
  }, 60_000);

  it('migrates a SQLite file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-migcli-')), 'm.db');
    const run = await runCli(['migrate', '--json'], { DATABASE_URL: file, MIPROX_API_KEY: '', LOG_LEVEL: 'silent' });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ latest: LATEST, database: `sqlite ${file}` });
  }, 60_000);
});
