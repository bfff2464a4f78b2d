import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import type { Dialect } from '../../src/store/migrations.js';
import { migrateDatabase } from '../../src/store/open.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { openOldDatabaseWithEnv } from '../helpers/oldDatabase.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

/**
 * A database made by main at 7afbcbc (2026-12-02): it ran today's 0006_reward_range and
 * 0007_usage_counters statements unchanged (`git diff 7afbcbc HEAD -- src/store/migrationsRewards.ts`
 * renames the export only) but recorded them as 0005_reward_range and 0005_usage_counters. Built here
 * as that build left it: migrated to 0007, then the two rows given their old names. This release
 * refused it as "migrated by another build"; it now migrates it, keeping its rows. Both databases.
 */
describe.each<Dialect>(['sqlite', 'postgres'])('a database of the build that numbered its migrations 0005 (%s)', (dialect) => {
  const schema = uniqueSchema('renamed');
  afterAll(async () => {
    if (dialect === 'postgres') await dropPostgresSchema(PG_URL, schema);
  });

  it('is migrated to this release, its old names recorded as the new ones', async () => {
    const { db, env } = await openOldDatabaseWithEnv(dialect, schema, '0007_usage_counters');
    const table = dialect === 'postgres' ? sql.table(`${schema}.kysely_migration`) : sql.table('kysely_migration');
    await sql`update ${table} set name = '0005_reward_range' where name = '0006_reward_range'`.execute(db);
    await sql`update ${table} set name = '0005_usage_counters' where name = '0007_usage_counters'`.execute(db);
    await db.destroy();

    const database = dialect === 'postgres'
      ? { kind: 'postgres' as const, url: PG_URL, schema }
      : { kind: 'sqlite' as const, path: env.DATABASE_URL! };
    const applied = await migrateDatabase(database, systemClock);
    expect(applied).toContain('0006_reward_range');
    expect(applied).toContain('0007_usage_counters');
    expect(applied).toContain('0008_guard');
    expect(applied.filter((name) => name.startsWith('0005_'))).toEqual(['0005_missing_rewards']);
    // Run again (a second instance's start): nothing more to do, nothing changed.
    expect(await migrateDatabase(database, systemClock)).toEqual(applied);
  });
});
