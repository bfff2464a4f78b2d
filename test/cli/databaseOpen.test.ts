import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer } from '../helpers/childServer.js';
import { canMakeImmutable, setImmutable } from '../helpers/immutableFile.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

/** A loopback port nothing listens on: bound once to learn a free number, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const env = (databaseUrl: string) => ({ DATABASE_URL: databaseUrl, HOST: '127.0.0.1', MIPROX_API_KEY: '' });

describe('a database that cannot be opened', () => {
  it('serve names the PostgreSQL it could not reach and the setting that chose it, without the password', async () => {
    const port = await closedPort();
    const res = await runCli(['serve', '--port', '0'], env(`postgres://postgres:s3cretpass@127.0.0.1:${port}/test`));
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(`miprox: cannot reach the database postgres://postgres@127.0.0.1:${port}/test (schema public): connect ECONNREFUSED 127.0.0.1:${port}. Is PostgreSQL running there? DATABASE_URL chooses the database`);
    expect(res.stderr + res.stdout).not.toContain('s3cretpass');
  });

  it('migrate --json says PostgreSQL refused the login, as JSON with its own code', async () => {
    const res = await runCli(['migrate', '--json'], env('postgres://miprox_no_such_role@127.0.0.1:5432/test'));
    expect(res.code).toBe(1);
    const { error } = JSON.parse(res.stderr) as { error: { code: string; message: string } };
    expect(error.code).toBe('database_refused');
    expect(error.message).toContain('postgres://miprox_no_such_role@127.0.0.1:5432/test');
    expect(error.message).toContain('role "miprox_no_such_role" does not exist');
    expect(error.message).toContain('Check the user, password and database name in DATABASE_URL');
  });

  /** A least-privilege role (no CREATE on the database) and a schema the DBA has not made yet: "miprox: permission denied for database test". */
  it('migrate says which schema the role may not create, and how to make it', async () => {
    const role = `miprox_nocreate_${randomBytes(4).toString('hex')}`;
    const schema = uniqueSchema('noperm');
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await admin.query(`create role ${role} login`);
      const url = new URL(PG_URL);
      url.username = role;
      const res = await runCli(['migrate'], { ...env(url.toString()), DATABASE_SCHEMA: schema });
      expect(res.code).toBe(1);
      expect(res.stderr.trim()).toBe(
        `miprox: the database ${url.toString()} (schema ${schema}) refused to let the role in DATABASE_URL create schema ${schema} (DATABASE_SCHEMA): `
        + `permission denied for database ${url.pathname.slice(1)}. Create the schema for that role (create schema ${schema} authorization <role>), or grant it CREATE on the database`,
      );
    } finally {
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  });

  it('serve does not blame a reachable database for a HOST that does not resolve (listen looks HOST up too)', async () => {
    // The database is fine; only the address to listen on is wrong. It used to say
    // "cannot reach the database ... Is PostgreSQL running there?", sending the reader to DATABASE_URL.
    const res = await runCli(['serve', '--port', '0'], { ...env(PG_URL), HOST: 'no-such-listen-host.invalid' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no-such-listen-host.invalid');
    expect(res.stderr).not.toMatch(/database|DATABASE_URL/);
    // A database host that does not resolve is still the database's failure.
    const db = await runCli(['serve', '--port', '0'], env('postgres://postgres@no-such-db-host.invalid:5432/test'));
    expect(db.code).toBe(1);
    expect(db.stderr).toMatch(/^miprox: cannot reach the database postgres:\/\/postgres@no-such-db-host\.invalid:5432\/test .*ENOTFOUND no-such-db-host\.invalid/);
  });

  /** These stopped the start with SQLite's bare words ("miprox: file is not a database"), naming no file. */
  it('serve names a SQLite file that is not a database, and what to check', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-notadb-')), 'notes.txt');
    writeFileSync(path, 'not a database, a text file of the operator '.repeat(100));
    const res = await runCli(['serve', '--port', '0'], env(path));
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(`miprox: cannot open the database sqlite ${path}: file is not a database. The file is not a SQLite database: DATABASE_URL (or the default ~/.miprox/miprox.db) names another file`);
  });

  it('keys list says another process holds the SQLite write lock (was: "miprox: database is locked")', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-locked-')), 'miprox.db');
    const other = new BetterSqlite3(path);
    other.exec('create table t (x); begin exclusive; insert into t values (1)');
    try {
      const res = await runCli(['keys', 'list', '--json'], env(path));
      expect(res.code).toBe(1);
      const { error } = JSON.parse(res.stderr) as { error: { code: string; message: string } };
      expect(error).toEqual({
        code: 'database_unreachable',
        message: `cannot open the database sqlite ${path}: database is locked. Another process holds its write lock (a sqlite3 shell, a script, another miprox): let it finish, then start again`,
      });
    } finally {
      other.exec('rollback');
      other.close();
    }
  }, 30_000);

  it('keys create names a SQLite path it cannot open (a directory)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-dbdir-'));
    const res = await runCli(['keys', 'create', '--name', 'x'], env(dir));
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(`miprox: cannot open the database sqlite ${dir}: unable to open database file. DATABASE_URL (or the default ~/.miprox/miprox.db) must name a file miprox can create and write`);
  });

  /**
   * SQLite opens a file it may not write read-only without saying so: the server started, /readyz said
   * ready, and every write answered 503 "retry shortly". (Root ignores modes; an immutable file is
   * what a file of mode 0444 is to the server's own unprivileged user, or a read-only mount.)
   */
  it.skipIf(!canMakeImmutable())('serve stops at start on a SQLite file it may not write, saying so, instead of serving 503s', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-readonly-')), 'miprox.db');
    expect((await runCli(['migrate'], env(path))).code).toBe(0);
    setImmutable(path, true);
    try {
      const started = await spawnServer({ ...env(path), PORT: '0' }, 30_000).then(
        async (s) => {
          s.proc.kill('SIGKILL');
          return `started: ${s.output()}`;
        },
        (err: Error) => err.message,
      );
      expect(started).toContain('server exited with 1');
      expect(started).toContain(`miprox: cannot open the database sqlite ${path}: attempt to write a readonly database. miprox may not write it:`);
    } finally {
      setImmutable(path, false);
    }
  }, 60_000);

  /** A standby after a failover, or a database made read-only: "miprox: the database is unavailable; retry shortly". */
  it('keys create and serve (seeding MIPROX_API_KEY) say the PostgreSQL takes no writes, and where to point', async () => {
    const name = `miprox_ro_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await admin.query(`create database ${name}`);
      const url = new URL(PG_URL);
      url.pathname = `/${name}`;
      expect((await runCli(['migrate'], env(url.toString()))).code).toBe(0);
      await admin.query(`alter database ${name} set default_transaction_read_only = on`);
      const expected = `the database ${url.toString()} (schema public) takes no writes: cannot execute INSERT in a read-only transaction. `
        + 'Point DATABASE_URL at the primary (a standby after a failover?), or turn off default_transaction_read_only there';
      const created = await runCli(['keys', 'create', '--name', 'ops', '--json'], env(url.toString()));
      expect(created.code).toBe(1);
      expect(JSON.parse(created.stderr)).toEqual({ error: { code: 'database_refused', message: expected } });
      const served = await runCli(['serve', '--port', '0'], { ...env(url.toString()), MIPROX_API_KEY: 'mpx_readonly_seed_key_000000000000001' });
      expect(served.code).toBe(1);
      expect(served.stderr.trim()).toBe(`miprox: ${expected}`);
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  }, 60_000);
});
