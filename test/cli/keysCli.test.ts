import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { systemClock } from '../../src/shared/clock.js';
import { openSqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import { runCli } from '../helpers/childServer.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

// Each case spawns the CLI through tsx, which takes seconds on a busy 2-core machine (one case took
// 103 s of a 120 s limit under load).
const SLOW = 300_000;

/**
 * Issue 16 item 7: `keys revoke` took only the id or the exact 12-character prefix; `mpx_` matching
 * every key said "no active key"; errors under --json were plain text.
 */
describe('miprox keys revoke', () => {
  const env = () => ({ DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-keys-')), 'k.db'), MIPROX_API_KEY: '' });
  const create = async (e: Record<string, string>, name: string) => {
    const res = await runCli(['keys', 'create', '--name', name, '--json'], e);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as { key: string; key_id: string };
  };
  const active = async (e: Record<string, string>) =>
    (JSON.parse((await runCli(['keys', 'list', '--json'], e)).stdout) as Array<{ key_id: string; revoked_at: string | null }>)
      .filter((k) => k.revoked_at === null).map((k) => k.key_id).sort();

  it('takes the whole key, the name or an unambiguous start of the key', async () => {
    const e = env();
    const [a, b, c] = [await create(e, 'alpha'), await create(e, 'beta'), await create(e, 'gamma')];
    const byKey = await runCli(['keys', 'revoke', a.key], e);
    expect(byKey.code, byKey.stderr).toBe(0);
    expect(byKey.stdout).toMatch(new RegExp(`^revoked key ${a.key_id} \\(alpha, `));
    const byName = await runCli(['keys', 'revoke', 'beta', '--json'], e);
    expect(JSON.parse(byName.stdout)).toMatchObject({ revoked: true, key_id: b.key_id, name: 'beta' });
    expect(await active(e)).toEqual([c.key_id]);
    const byStart = await runCli(['keys', 'revoke', c.key.slice(0, 9)], e);
    expect(byStart.code, byStart.stderr).toBe(0);
    expect(await active(e)).toEqual([]);
  }, SLOW);

  it('says "ambiguous" (listing the matches) when the argument names several keys, as JSON under --json', async () => {
    const e = env();
    const [a, b] = [await create(e, 'one'), await create(e, 'two')];
    const res = await runCli(['keys', 'revoke', 'mpx_'], e);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^miprox: "mpx_" is ambiguous: it matches 2 active keys: /);
    expect(res.stderr).toContain(a.key_id);
    expect(res.stderr).toContain(b.key_id);
    const json = await runCli(['keys', 'revoke', 'mpx_', '--json'], e);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'ambiguous', message: expect.stringMatching(/ambiguous/) } });
    const none = await runCli(['keys', 'revoke', 'nobody', '--json'], e);
    expect(JSON.parse(none.stderr).error.code).toBe('not_found');
    expect(await active(e)).toEqual([a.key_id, b.key_id].sort());
  }, SLOW);

  it('never makes a database to list or revoke on (a mistyped DATABASE_URL), and refuses an empty key name', async () => {
    const e = env();
    for (const args of [['keys', 'list', '--json'], ['keys', 'revoke', 'alpha', '--json']]) {
      const res = await runCli(args, e);
      expect(res.code).toBe(1);
      expect(JSON.parse(res.stderr)).toEqual({ error: { code: 'not_found', message: `no database at ${e.DATABASE_URL}: check DATABASE_URL (keys create makes one)` } });
    }
    expect(existsSync(e.DATABASE_URL)).toBe(false);
    const empty = await runCli(['keys', 'create', '--name', ' ', '--json'], e);
    expect(empty.code).toBe(1);
    expect(JSON.parse(empty.stderr).error.code).toBe('usage_error');
    // The seeded key's name is reserved: a new MIPROX_API_KEY value joins the newest key of that name's tenant.
    const reserved = await runCli(['keys', 'create', '--name', 'MIPROX_API_KEY', '--json'], e);
    expect(reserved.code).toBe(1);
    expect(JSON.parse(reserved.stderr).error).toEqual({ code: 'usage_error', message: '--name MIPROX_API_KEY is reserved for the key the variable of that name seeds: choose another name' });
    expect(existsSync(e.DATABASE_URL)).toBe(false);
    await create(e, 'alpha'); // keys create makes the database, as before the first start
    expect(await active(e)).toHaveLength(1);
  }, SLOW);
});

/** The PostgreSQL side of the case above: `keys list` with a mistyped DATABASE_SCHEMA created that schema, migrated it and answered "(none)". */
describe('miprox keys on PostgreSQL', () => {
  it('never makes a schema to list or revoke in', async () => {
    const schema = uniqueSchema('keystypo');
    const e = { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: '' };
    try {
      for (const args of [['keys', 'list', '--json'], ['keys', 'revoke', 'alpha', '--json']]) {
        const res = await runCli(args, e);
        expect(res.code).toBe(1);
        const where = `${new URL(PG_URL).toString()} (schema ${schema})`;
        expect(JSON.parse(res.stderr)).toEqual({ error: { code: 'not_found', message: `no miprox database in ${where}: check DATABASE_URL and DATABASE_SCHEMA (keys create makes one)` } });
      }
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        expect((await client.query('select 1 from pg_namespace where nspname = $1', [schema])).rowCount).toBe(0);
      } finally {
        await client.end();
      }
      const created = await runCli(['keys', 'create', '--name', 'alpha', '--json'], e);
      expect(created.code, created.stderr).toBe(0);
      const listed = await runCli(['keys', 'list', '--json'], e);
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as Array<{ name: string }>).map((k) => k.name)).toEqual(['alpha']);
    } finally {
      await dropPostgresSchema(PG_URL, schema);
    }
  }, SLOW);
});

/** keys list failed on PORT=abc or a bad RETENTION_DAYS in the server's environment, which it never reads. */
describe('miprox keys and the server\'s environment', () => {
  it('reads only the database\'s variables, and still names a bad DATABASE_URL', async () => {
    const e = { DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-keys-')), 'k.db'), MIPROX_API_KEY: '', PORT: 'abc', RETENTION_DAYS: '0', BODY_LIMIT_BYTES: '1e6' };
    const made = await runCli(['keys', 'create', '--name', 'ops', '--json'], e);
    expect(made.code, made.stderr).toBe(0);
    const list = await runCli(['keys', 'list', '--json'], e);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ key_id: JSON.parse(made.stdout).key_id, name: 'ops' })]);
    const wrong = await runCli(['keys', 'list', '--json'], { ...e, DATABASE_URL: 'mysql://db/x' });
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stderr)).toEqual({
      error: {
        code: 'config_error',
        message: 'invalid configuration: DATABASE_URL: must be postgres://..., sqlite:PATH, or a file path',
        details: [{ path: 'DATABASE_URL', message: 'must be postgres://..., sqlite:PATH, or a file path' }],
      },
    });
  }, SLOW);
});

/**
 * `keys create --name` took 100,000 characters or control characters (tab, newline, ESC), and `keys
 * revoke` wrote such a name to the operator's terminal as it was (an escape sequence acts there).
 */
describe('miprox keys names', () => {
  const env = () => ({ DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-keys-')), 'k.db'), MIPROX_API_KEY: '' });

  it('refuses a name over 200 characters or with control characters, as a usage error', async () => {
    const e = env();
    const cases: Array<[string, string]> = [
      ['x'.repeat(201), '--name is 201 characters long: at most 200'],
      ['ops\tteam', '--name must not hold control characters (U+0009 at character 4): use printable text'],
      ['red\u001b[31m', '--name must not hold control characters (U+001B at character 4): use printable text'],
      // A right-to-left override shows the rest of the name reversed in `keys list` (a spoof of another name).
      ['ops\u202emaet', '--name must not hold control characters (U+202E at character 4): use printable text'],
    ];
    for (const [name, message] of cases) {
      const res = await runCli(['keys', 'create', '--name', name, '--json'], e);
      expect(res.code).toBe(1);
      expect(JSON.parse(res.stderr)).toEqual({ error: { code: 'usage_error', message } });
    }
    expect(existsSync(e.DATABASE_URL)).toBe(false);
    const longest = await runCli(['keys', 'create', '--name', 'é'.repeat(200), '--json'], e);
    expect(longest.code, longest.stderr).toBe(0);
  }, SLOW);

  it('lists and revokes a name made before the check with its control characters escaped', async () => {
    const e = env();
    const store = await openSqliteStore(e.DATABASE_URL, systemClock);
    const odd = 'a\u001b]0;pwned\u0007\tb\nc\u009b';
    const made = await store.createTenantWithKey({ name: odd, keyHash: 'h'.repeat(64), prefix: 'mpx_00000000' });
    await store.close();
    const shown = 'a\\x1b]0;pwned\\x07\\tb\\nc\\x9b';
    const list = await runCli(['keys', 'list'], { ...e, COLUMNS: '300' });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(shown);
    expect(list.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const json = await runCli(['keys', 'list', '--json'], e);
    expect(json.stdout).not.toMatch(/[\u007f-\u009f]/);
    expect(JSON.parse(json.stdout)[0].name).toBe(odd);
    const revoked = await runCli(['keys', 'revoke', made.id], e);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`revoked key ${made.id} (${shown}, mpx_00000000) in sqlite ${e.DATABASE_URL}\n`);
  }, SLOW);
});
