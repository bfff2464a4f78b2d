import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';

/** The mode of the database file each time miprox changes it: before the change, what it was born with. */
const modesBeforeChmod: number[] = [];
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const chmodSync: typeof fs.chmodSync = (path, mode) => {
    modesBeforeChmod.push(fs.statSync(path).mode & 0o777);
    fs.chmodSync(path, mode);
  };
  return { ...fs, default: { ...fs, chmodSync }, chmodSync };
});

const { openSqliteStore } = await import('../../src/store/sqlite/sqliteStore.js');

/**
 * A new SQLite file was made by SQLite (0644 under the usual umask) and chmod'ed to 0600 after: for
 * that moment any local user could open it, and an open descriptor keeps reading after the chmod
 * (the file then holds every call's text and the API keys' hashes).
 */
describe('a new SQLite database file', () => {
  it('is readable by its owner only from its first moment', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-mode-')), 'new.db');
    const store = await openSqliteStore(path, systemClock);
    await store.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    for (const mode of modesBeforeChmod) expect(mode.toString(8)).toBe('600');
  });
});
