import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { migrateDatabase } from '../../src/store/open.js';

/**
 * A database holding another build's migration (one that does not come after this release's last)
 * besides a newer release's is refused (docs/deploy.md, "Upgrades and migrations"); the error named
 * them all as "not after this release's last", the newer release's later one included.
 */
describe('a database migrated by another build', () => {
  it('names the migrations that do not come after this release\'s last apart from later ones', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-unknown-')), 'miprox.db');
    const database = { kind: 'sqlite' as const, path };
    const applied = await migrateDatabase(database, systemClock);
    const last = applied.at(-1)!;
    const file = new Database(path);
    const add = file.prepare('insert into kysely_migration (name, timestamp) values (?, ?)');
    add.run('0009_other_build', new Date().toISOString());
    add.run('9999_next_release', new Date().toISOString());
    file.close();

    const err = await migrateDatabase(database, systemClock).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toBe(
      `database migration failed: the database holds migrations this release does not know that do not come after this release's last (${last}): `
      + '0009_other_build (and, after it, 9999_next_release): it was migrated by another build of miprox; run that build, or restore the database',
    );
  });
});
