import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { runCli, spawnServer, waitExit } from '../helpers/childServer.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody } from '../helpers/server.js';

const LATEST = '0015_job_deletion';

/** `miprox migrate` (docs/deploy.md, rolling upgrades): run once before instances of a release start. */
// Each case spawns the CLI and servers through tsx: seconds each on a busy 2-core machine (one case took
// over 60 s under load).
describe('miprox migrate', { timeout: 300_000 }, () => {
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
  });

  it('migrates a SQLite file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-migcli-')), 'm.db');
    const run = await runCli(['migrate', '--json'], { DATABASE_URL: file, MIPROX_API_KEY: '', LOG_LEVEL: 'silent' });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ latest: LATEST, database: `sqlite ${file}` });
  });

  it('reads only the database\'s variables (a bad PORT or RETENTION_DAYS is the server\'s), and still names a bad DATABASE_SCHEMA', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-migcli-')), 'm.db');
    const env = { DATABASE_URL: file, MIPROX_API_KEY: '', PORT: 'abc', RETENTION_DAYS: '0', LOG_LEVEL: 'loud' };
    const run = await runCli(['migrate', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ latest: LATEST, database: `sqlite ${file}` });
    const wrong = await runCli(['migrate'], { ...env, DATABASE_URL: PG_URL, DATABASE_SCHEMA: 'Bad-Schema' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^miprox: invalid configuration: DATABASE_SCHEMA: /);
    expect(wrong.stderr).not.toMatch(/PORT|RETENTION_DAYS|LOG_LEVEL/);
  });

  it('lets this release restart on a database a newer release already migrated (a rolling upgrade in progress)', async () => {
    // docs/deploy.md: migrate once, then replace instances one at a time; until its turn, an instance
    // of this release may be restarted (a crash, Restart=always, ExecStartPre=miprox migrate). A newer
    // release's migrations only add, so this release must go on working on that database.
    const ahead = uniqueSchema('migahead');
    const key = 'mpx_rolling_upgrade_key_000001';
    const env = { DATABASE_URL: PG_URL, DATABASE_SCHEMA: ahead, MIPROX_API_KEY: key, LOG_LEVEL: 'warn' };
    try {
      expect((await runCli(['migrate'], env)).code).toBe(0);
      const first = await spawnServer(env);
      const job = await api(first.url, 'POST', '/api/policy-optimization/online/jobs', { key, body: simJobBody() });
      expect(job.status).toBe(200);
      first.proc.kill('SIGTERM');
      await waitExit(first.proc);
      // The next release's `miprox migrate` records its migration (named after ours, as every new one is).
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`insert into "${ahead}".kysely_migration (name, timestamp) values ('9999_next_release', $1)`, [new Date().toISOString()]);
      } finally {
        await client.end();
      }
      const migrated = await runCli(['migrate', '--json'], env);
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(JSON.parse(migrated.stdout)).toMatchObject({ latest: '9999_next_release' });
      const again = await spawnServer(env);
      try {
        expect((await api(again.url, 'GET', `/api/policy-optimization/online/jobs/${job.body.job_id}`, { key })).body).toMatchObject({ status: 'running' });
      } finally {
        again.proc.kill('SIGTERM');
        await waitExit(again.proc);
      }
    } finally {
      await dropPostgresSchema(PG_URL, ahead);
    }
  });
});
