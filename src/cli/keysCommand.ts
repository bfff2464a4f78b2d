import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SEEDED_KEY_NAME, generateApiKey, hashApiKey } from '../api/auth.js';
import { describeDatabase, loadDatabaseConfig } from '../config/config.js';
import { systemClock } from '../shared/clock.js';
import type { ApiKeyRecord, Store } from '../store/types.js';
import { CliError } from './cliError.js';
import { databaseOpenError, openingDatabase } from './databaseOpenError.js';
import { keyNameProblem, visibleKeyName } from './keyName.js';
import { jsonText, printTable, writeText } from './output.js';

/**
 * Key management works directly on the database the server uses: the same DATABASE_URL, or the same
 * fixed default file wherever both are started. `database` names it, so every command can say which.
 */
async function withStore<T>(fn: (store: Store, database: string) => Promise<T>, opts: { create: boolean } = { create: false }): Promise<T> {
  const config = loadDatabaseConfig(process.env); // the server's other variables are not read here
  // Only `keys create` may make a SQLite file (the first key, before the first start): listing or
  // revoking on a mistyped DATABASE_URL made an empty database there and answered "(none)".
  if (!opts.create && config.database.kind === 'sqlite' && !existsSync(config.database.path)) {
    throw new CliError(`no database at ${config.database.path}: check DATABASE_URL (keys create makes one)`, 'not_found');
  }
  // The same on PostgreSQL: a mistyped DATABASE_SCHEMA was created, migrated and listed as "(none)".
  const pgDatabase = config.database.kind === 'postgres' ? config.database : null;
  if (!opts.create && pgDatabase !== null) {
    const { postgresSchemaHoldsMiprox } = await import('../store/postgres/postgresStore.js');
    if (!(await openingDatabase(pgDatabase, () => postgresSchemaHoldsMiprox(pgDatabase.url, pgDatabase.schema)))) {
      throw new CliError(`no miprox database in ${describeDatabase(pgDatabase)}: check DATABASE_URL and DATABASE_SCHEMA (keys create makes one)`, 'not_found');
    }
  }
  const { openStore } = await import('../store/open.js'); // loaded on use, like the server
  const store = await openingDatabase(config.database, () => openStore(config.database, systemClock));
  try {
    // The command's own writes meet what the open could not show (a PostgreSQL that takes no writes).
    return await fn(store, describeDatabase(config.database)).catch((err: unknown) => {
      throw databaseOpenError(err, config.database) ?? err;
    });
  } finally {
    await store.close();
  }
}

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys (each key belongs to one tenant)');

  keys
    .command('create')
    .description('create a key and print it once; only its hash is stored')
    .requiredOption('--name <name>', 'a label for the key')
    .option('--tenant <tenantId>', 'add the key to an existing tenant (default: a new tenant)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { name: string; tenant?: string; json?: boolean }) => {
      const problem = keyNameProblem(opts.name);
      if (problem !== null) throw new CliError(problem, 'usage_error');
      // A new MIPROX_API_KEY value joins the tenant of the newest key of this name (auth.ts seedApiKey):
      // a key made by hand under it could carry the variable's next value into another tenant.
      if (opts.name.trim() === SEEDED_KEY_NAME) {
        throw new CliError(`--name ${SEEDED_KEY_NAME} is reserved for the key the variable of that name seeds: choose another name`, 'usage_error');
      }
      await withStore(async (store, database) => {
        if (opts.tenant && !(await store.getTenant(opts.tenant))) throw new CliError(`tenant ${opts.tenant} not found in ${database}`, 'not_found');
        const { key, prefix } = generateApiKey();
        const made = { name: opts.name, keyHash: hashApiKey(key), prefix };
        // A new tenant is made with its key in one transaction: a failed key insert left it behind, empty.
        const record = opts.tenant ? await store.createApiKey({ ...made, tenantId: opts.tenant }) : await store.createTenantWithKey(made);
        if (opts.json) {
          process.stdout.write(`${jsonText({ key, key_id: record.id, tenant_id: record.tenantId, name: record.name, database })}\n`);
        } else {
          process.stdout.write(`${key}\n`);
          process.stderr.write(`key ${record.id} for tenant ${record.tenantId}, written to ${database}. Store it now: it is not shown again.\n`);
        }
      }, { create: true });
    });

  keys
    .command('list')
    .description('list keys (never the keys themselves)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withStore(async (store, database) => {
        const rows = (await store.listApiKeys()).map((k) => ({
          key_id: k.id, name: k.name, prefix: k.prefix, tenant_id: k.tenantId, created_at: k.createdAt, revoked_at: k.revokedAt,
        }));
        if (opts.json) process.stdout.write(`${jsonText(rows)}\n`);
        else {
          process.stderr.write(`database: ${database}\n`);
          // Narrow: the name is cut, then created_at left out; ids, the prefix and revoked_at stay whole.
          printTable(rows.map((r) => ({ ...r, name: visibleKeyName(r.name) })), ['key_id', 'name', 'prefix', 'tenant_id', 'created_at', 'revoked_at'], { flexible: { name: 10 }, drop: ['created_at'] });
        }
      });
    });

  keys
    .command('revoke <key>')
    .description('revoke a key, named by its id, its name, the whole key or its prefix (the characters `keys list` shows, or any unambiguous start of them)')
    .option('--json', 'machine-readable output')
    .action(async (arg: string, opts: { json?: boolean }) => {
      await withStore(async (store, database) => {
        const key = await resolveKey(store, arg, database);
        if (!(await store.revokeApiKey(key.id))) throw new CliError(`key ${key.id} was revoked meanwhile`, 'conflict');
        if (opts.json) process.stdout.write(`${jsonText({ revoked: true, key_id: key.id, name: key.name, prefix: key.prefix, database })}\n`);
        else writeText(`revoked key ${key.id} (${visibleKeyName(key.name)}, ${key.prefix}) in ${database}\n`);
      });
    });
}

/**
 * Finds the one active key `arg` names. A whole key is matched by its hash; otherwise the id, the name
 * and the start of the key are tried together, so `mpx_` (the start of every key) is ambiguous
 * rather than "not found", and the message lists what matched.
 */
async function resolveKey(store: Store, arg: string, database: string): Promise<ApiKeyRecord> {
  const whole = await store.findActiveApiKey(hashApiKey(arg));
  if (whole) return whole;
  const keys = await store.listApiKeys();
  // A longer string that is not a whole key is a mistyped key: never matched by its first characters.
  const matches = keys.filter((k) => k.id === arg || k.name === arg || k.prefix.startsWith(arg));
  const active = matches.filter((k) => k.revokedAt === null);
  if (active.length === 1) return active[0]!;
  if (active.length > 1) {
    const listed = active.slice(0, 10).map((k) => `${k.id} (${visibleKeyName(k.name)}, ${k.prefix})`).join(', ');
    throw new CliError(`"${visibleKeyName(arg)}" is ambiguous: it matches ${active.length} active keys: ${listed}. Name one by its id.`, 'ambiguous');
  }
  if (matches.length > 0) throw new CliError(`"${visibleKeyName(arg)}" matches only revoked keys (${matches.map((k) => k.id).join(', ')})`, 'already_revoked');
  throw new CliError(`no key matches "${visibleKeyName(arg)}" in ${database} (try \`miprox keys list\`)`, 'not_found');
}
