import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { seedApiKey } from '../../src/api/auth.js';
import { loadConfig } from '../../src/config/config.js';
import { startServer } from '../../src/main.js';
import { systemClock } from '../../src/shared/clock.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/** The tenants of a schema with how many keys each holds, read straight from the tables. */
async function tenantsOf(schema: string): Promise<{ id: string; keys: number }[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ id: string; keys: number }>(
      `select t.id, (select count(*)::int from "${schema}".api_keys k where k.tenant_id = t.id) as keys from "${schema}".tenants t order by t.id`);
    return rows;
  } finally {
    await c.end();
  }
}

/**
 * Instances started at once on one fresh PostgreSQL database, each seeding MIPROX_API_KEY: each saw
 * no key yet and made a tenant for it; one key insert won and the other tenant stayed behind, empty
 * (a tenant nobody can sign in to, listed nowhere). The seeding now takes turns under a lock: one
 * tenant, holding the key, whatever the interleaving.
 */
describe('seeding MIPROX_API_KEY from instances starting at once (postgres)', () => {
  it('leaves one tenant holding the key when several stores seed it concurrently', async () => {
    for (let round = 0; round < 3; round++) {
      const schema = uniqueSchema('seedrace');
      const stores = [];
      try {
        for (let i = 0; i < 4; i++) stores.push(await openPostgresStore(PG_URL, schema, systemClock));
        await Promise.all(stores.map((s) => seedApiKey(s, 'team-shared-key-0001')));
        expect(await tenantsOf(schema)).toEqual([{ id: expect.any(String), keys: 1 }]);
        // A rotation seeded by instances at once (two new values) joins the one tenant too.
        await Promise.all(stores.map((s, i) => seedApiKey(s, `team-shared-key-000${2 + (i % 2)}`)));
        expect((await tenantsOf(schema)).map((t) => t.keys)).toEqual([3]);
      } finally {
        for (const s of stores) await s.close();
        await dropPostgresSchema(PG_URL, schema);
      }
    }
  });

  it('starts three servers at once on a fresh schema: one tenant, and the key works on each', async () => {
    const schema = uniqueSchema('seedsrv');
    const key = 'team-shared-key-0001';
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: key });
    const servers = await Promise.all([0, 1, 2].map(() => startServer(config, { logger: pino({ level: 'silent' }) })));
    try {
      expect(await tenantsOf(schema)).toEqual([{ id: expect.any(String), keys: 1 }]);
      const job = await api(servers[0]!.url, 'POST', JOBS, { key, body: simJobBody() });
      expect(job.status, JSON.stringify(job.body)).toBe(200);
      const listed = await api(servers[1]!.url, 'GET', JOBS, { key });
      expect(listed.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([job.body.job_id]);
    } finally {
      for (const s of servers) await s.close();
      await dropPostgresSchema(PG_URL, schema);
    }
  });
});
