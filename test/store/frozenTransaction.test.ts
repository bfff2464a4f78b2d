import { sql, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { newJobId, newProposalId, newSystemId } from '../../src/shared/ids.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import type { Store } from '../../src/store/types.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { sampleConfig } from './storeContract.js';

/**
 * Found in a cluster chaos run: one of three instances stopped (SIGSTOP; a paused VM or a wedged
 * process does the same) between two statements of a transaction, e.g. the seed scheduler's, which
 * holds the job's row lock. PostgreSQL keeps an idle transaction's locks for as long as its
 * connection lives, and a stopped process's connection lives: every other instance's writes to the
 * job (rewards, calls, proposals) waited for it, 0 rewards in 15 s, and their /readyz said down, so
 * the balancer took the whole cluster out for as long as one instance was stopped. Here a
 * transaction on one store's connection goes idle holding the lock and never goes on, as a frozen
 * instance's does; the other store's write must get through once the database ends it.
 */
describe('a transaction left idle by a frozen instance', () => {
  const schema = uniqueSchema('frozen');
  const stores: Store[] = [];
  let release: () => void = () => {};
  afterAll(async () => {
    release();
    await Promise.all(stores.map((s) => s.close().catch(() => {})));
    await dropPostgresSchema(PG_URL, schema);
  });

  it('holds the job row lock for seconds, not for as long as the instance is stopped', async () => {
    const frozen = await openPostgresStore(PG_URL, schema, systemClock);
    const live = await openPostgresStore(PG_URL, schema, systemClock);
    stores.push(frozen, live);
    const tenant = await live.createTenant('t');
    const job = await live.createJob({ id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {} });

    const db = (frozen as unknown as { db: Kysely<unknown> }).db;
    let locked: () => void = () => {};
    const lockTaken = new Promise<void>((r) => (locked = r));
    const stalled = new Promise<void>((r) => (release = r));
    const frozenTx = db.transaction().execute(async (trx) => {
      await sql`select id from jobs where id = ${job.id} for update`.execute(trx);
      locked();
      await stalled; // the process stops here: no next statement, no commit, no rollback
      await sql`select 1`.execute(trx);
    }).catch((err: unknown) => err);
    await lockTaken;

    const t0 = Date.now();
    const now = new Date().toISOString();
    const lease = await live.startProposal({ jobId: job.id, id: newProposalId(), parentId: 'baseline', module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now });
    const waited = Date.now() - t0;
    expect(lease).not.toBeNull();
    expect(waited).toBeLessThan(10_000);

    // The frozen instance, resumed, finds its transaction gone: an error it maps to 503, nothing committed.
    release();
    expect(await frozenTx).toBeInstanceOf(Error);
  }, 60_000);
});
