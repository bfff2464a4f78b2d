import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';
import { insertApiKey, insertTenant } from './statements.js';

/** What seeding a key found: it was stored already (active, or revoked), or it is now. */
export type SeededKey = 'active' | 'revoked' | 'created';

/**
 * A key seeded from configuration (MIPROX_API_KEY), stored once: an active key stays, a revoked one
 * is reported (never revived), and a new one joins the tenant of the key seeded under the same name
 * last (a rotation of the one user's key), else a new tenant. One transaction, with the seeders
 * taking turns: instances started at once on one PostgreSQL database each saw no key, each made a
 * tenant, one key insert won, and the other tenants stayed behind, empty. PostgreSQL's SHARE ROW
 * EXCLUSIVE lock conflicts with itself and with inserts into api_keys, not with reads, so key
 * lookups go on meanwhile; it is held for three small statements, at startup. SQLite's transactions
 * begin IMMEDIATE (lockWaitingDriver.ts), which already takes the one write lock first.
 */
export async function seedKey(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', k: { name: string; keyHash: string; prefix: string }, now: string): Promise<SeededKey> {
  return db.transaction().execute(async (trx) => {
    if (dialect === 'postgres') await sql`lock table api_keys in share row exclusive mode`.execute(trx);
    const same = await trx.selectFrom('api_keys').select(['id', 'name', 'revoked_at', 'prefix']).where('key_hash', '=', k.keyHash).executeTakeFirst();
    if (same) {
      // A key seeded by an earlier release kept 12 characters of the value (most of a short one):
      // it is shortened to what this release stores. Only a seeded row: a key `keys create` made and
      // the user then exported as the variable (the README's quickstart) keeps the prefix it was listed
      // with, which `keys revoke` takes.
      if (same.name === k.name && same.prefix !== k.prefix) await trx.updateTable('api_keys').set({ prefix: k.prefix }).where('id', '=', same.id).execute();
      return same.revoked_at === null ? 'active' : 'revoked';
    }
    const before = await trx.selectFrom('api_keys').select('tenant_id').where('name', '=', k.name)
      .orderBy('created_at', 'desc').orderBy('id', 'desc').executeTakeFirst();
    const tenantId = before?.tenant_id ?? await insertTenant(trx, 'default', now);
    await insertApiKey(trx, { ...k, tenantId }, now);
    return 'created';
  });
}
