import type { Command } from 'commander';
import { describeDatabase, loadDatabaseConfig } from '../config/config.js';
import { systemClock } from '../shared/clock.js';
import { openingDatabase } from './databaseOpenError.js';

/**
 * `miprox migrate`: brings the database's schema up to this release and exits. Instances migrate at
 * start too, but a rolling upgrade runs this once first, so that no serving instance ever waits on
 * the migration lock or meets a half-migrated schema (docs/deploy.md).
 */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations and exit (run once before starting instances of a new release)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }) => {
      // Only the database's variables: the server's others are not this command's concern.
      const config = loadDatabaseConfig(process.env);
      const { migrateDatabase } = await import('../store/open.js');
      const applied = await openingDatabase(config.database, () => migrateDatabase(config.database, systemClock));
      const database = describeDatabase(config.database);
      if (opts.json) process.stdout.write(`${JSON.stringify({ database, migrations: applied, latest: applied.at(-1) ?? null })}\n`);
      else process.stdout.write(`database ${database} is at migration ${applied.at(-1) ?? '(none)'} (${applied.length} migrations applied in all)\n`);
    });
}
