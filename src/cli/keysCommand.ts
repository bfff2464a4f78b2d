import type { Command } from 'commander';
import { generateApiKey, hashApiKey } from '../api/auth.js';
import { describeDatabase, loadConfig } from '../config/config.js';
import { systemClock } from '../shared/clock.js';
import type { Store } from '../store/types.js';
import { printTable } from './output.js';

/**
 * Key management works directly on the database the server uses: the same DATABASE_URL, or the same
 * fixed default file wherever both are started. `database` names it, so every command can say which.
 */
async function withStore<T>(fn: (store: Store, database: string) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const { openStore } = await import('../store/open.js'); // loaded on use, like the server
  const store = await openStore(config.database, systemClock);
  try {
    return await fn(store, describeDatabase(config.database));
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
      await withStore(async (store, database) => {
        let tenantId = opts.tenant;
        if (tenantId) {
          if (!(await store.getTenant(tenantId))) throw new Error(`tenant ${tenantId} not found`);
        } else {
          tenantId = (await store.createTenant(opts.name)).id;
        }
        const { key, prefix } = generateApiKey();
        const record = await store.createApiKey({ tenantId, name: opts.name, keyHash: hashApiKey(key), prefix });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ key, key_id: record.id, tenant_id: tenantId, name: record.name, database })}\n`);
        } else {
          process.stdout.write(`${key}\n`);
          process.stderr.write(`key ${record.id} for tenant ${tenantId}, written to ${database}. Store it now: it is not shown again.\n`);
        }
      });
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
        if (opts.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else {
          process.stderr.write(`database: ${database}\n`);
          printTable(rows, ['key_id', 'name', 'prefix', 'tenant_id', 'created_at', 'revoked_at']);
        }
      });
    });

  keys
    .command('revoke <idOrPrefix>')
    .description('revoke a key by id or prefix; requests with it get 401 from then on')
    .action(async (idOrPrefix: string) => {
      await withStore(async (store, database) => {
        if (!(await store.revokeApiKey(idOrPrefix))) throw new Error(`no active key matches ${idOrPrefix} in ${database}`);
        process.stdout.write(`revoked ${idOrPrefix} in ${database}\n`);
      });
    });
}
