import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/childServer.js';

// Each case spawns the CLI through tsx, which takes seconds on a busy 2-core machine.
const SLOW = 120_000;

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
});
