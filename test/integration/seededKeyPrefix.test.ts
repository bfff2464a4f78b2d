import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey, SEEDED_KEY_NAME } from '../../src/api/auth.js';
import { api, startTestServer } from '../helpers/server.js';

/**
 * The key row seeded from MIPROX_API_KEY stored its first 12 characters as the `prefix` that
 * `miprox keys list` prints (and `keys revoke` takes): of a 16-character value, the shortest the
 * server accepts, 4 characters were left secret. It keeps at most a quarter of the value now, and a
 * row an earlier release seeded is shortened at the next start.
 */
const SHORT_KEY = 'LEAKCANARY-42917';

describe('the stored prefix of a key seeded from MIPROX_API_KEY', () => {
  it('keeps at most a quarter of the value, and the key still works', async () => {
    const t = await startTestServer({ env: { MIPROX_API_KEY: SHORT_KEY } });
    try {
      const seeded = (await t.server.store.listApiKeys()).find((k) => k.name === SEEDED_KEY_NAME);
      expect(seeded?.prefix).toBe('LEAK');
      expect((await api(t.url, 'GET', '/api/policy-optimization/online/jobs', { key: SHORT_KEY })).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('shortens the prefix an earlier release stored for the same key', async () => {
    const DATABASE_URL = join(mkdtempSync(join(tmpdir(), 'miprox-seedprefix-')), 'miprox.db');
    const before = await startTestServer({ env: { DATABASE_URL } });
    // What the earlier release wrote for this value: its first 12 characters.
    await before.server.store.seedApiKey({ name: SEEDED_KEY_NAME, keyHash: hashApiKey(SHORT_KEY), prefix: SHORT_KEY.slice(0, 12) });
    await before.close();
    const after = await startTestServer({ env: { DATABASE_URL, MIPROX_API_KEY: SHORT_KEY } });
    try {
      const prefixes = (await after.server.store.listApiKeys()).filter((k) => k.name === SEEDED_KEY_NAME).map((k) => k.prefix);
      expect(prefixes).toEqual(['LEAK']);
    } finally {
      await after.close();
    }
  });

  /**
   * The README's quickstart exports the value `miprox keys create` printed as MIPROX_API_KEY and then
   * starts `miprox serve` with it: that start shortened the created key's 12-character prefix to 8, so
   * the prefix `keys list` had shown no longer revoked it ("no key matches"). Only rows the variable
   * seeded are shortened; a created key keeps its prefix (and its name).
   */
  it('leaves the prefix of a key made by keys create that is then used as MIPROX_API_KEY', async () => {
    const DATABASE_URL = join(mkdtempSync(join(tmpdir(), 'miprox-seedprefix-')), 'miprox.db');
    const { key, prefix } = generateApiKey();
    const before = await startTestServer({ env: { DATABASE_URL } });
    const created = await before.server.store.createTenantWithKey({ name: 'me', keyHash: hashApiKey(key), prefix });
    await before.close();
    const after = await startTestServer({ env: { DATABASE_URL, MIPROX_API_KEY: key } });
    try {
      const keys = (await after.server.store.listApiKeys()).filter((k) => k.id === created.id).map((k) => ({ name: k.name, prefix: k.prefix }));
      expect(keys).toEqual([{ name: 'me', prefix }]);
      expect(prefix).toHaveLength(12);
    } finally {
      await after.close();
    }
  });
});
