import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { OnlineEngine } from '../../src/optimizer/runner/engine.js';
import { RewardService } from '../../src/services/rewardService.js';
import { systemClock } from '../../src/shared/clock.js';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import { createSeededRng } from '../../src/shared/rng.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import { openSqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import type { Store } from '../../src/store/types.js';
import { sampleConfig } from '../store/storeContract.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

/**
 * Issue 18: "a refresh() landing between a reward's commit and its in-memory update may count that
 * reward twice in the cached statistics". On PostgreSQL that interleaving happens for real: the
 * commit is visible to other connections before its acknowledgement reaches this process, so a
 * refresh on another pooled connection can read the new row and land first. Here the store forces
 * it every time: after each reward commits, and before recordReward returns, the engine refreshes.
 * The cache must then hold exactly what the database holds.
 */
describe.each(['sqlite', 'postgres'] as const)('cached statistics when a refresh lands between commit and update (%s)', (dialect) => {
  const schema = uniqueSchema('statsrace');
  let store: Store | undefined;
  afterAll(async () => {
    await store?.close();
    if (dialect === 'postgres') await dropPostgresSchema(PG_URL, schema);
  });

  it('counts each reward once in the cache, as the database does', async () => {
    const inner = dialect === 'sqlite'
      ? await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'miprox-statsrace-')), 'm.db'), systemClock)
      : await openPostgresStore(PG_URL, schema, systemClock);
    store = inner;
    let engine: OnlineEngine | undefined;
    const racing: Store = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop !== 'recordReward') return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<Store['recordReward']>) => {
          const outcome = await target.recordReward(...args);
          // Committed, not yet applied in memory: the refresh lands exactly here.
          const rt = await engine!.lookup(args[0].jobId);
          await engine!.refresh(rt!);
          return outcome;
        };
      },
    });
    engine = new OnlineEngine(
      { store: racing, clock: systemClock, rng: createSeededRng(7), log: pino({ level: 'silent' }), finishJob: async () => {}, propose: async () => {} },
      { cacheTtlMs: 60_000, inFlightTtlMs: 60_000 },
    );
    const rewards = new RewardService(racing, engine, async (job) => job);
    const tenant = await inner.createTenant('t');
    const job = await inner.createJob({
      id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), correlationId: null, metadata: {},
      config: { ...sampleConfig, mipro: { ...sampleConfig.mipro, online_proposer_min_rollouts: 1000 } },
      modules: [{ name: 'main', template: 'Answer.' }],
    });
    const scores = [1, 0, 1, 1, 0.5];
    for (const score of scores) await rewards.report(tenant.id, job.id, { candidateId: BASELINE_ID, reward: score });
    const rt = await engine.lookup(job.id);
    const cached = rt!.candidates.find((c) => c.id === BASELINE_ID)!;
    const stored = (await inner.getCandidate(job.id, BASELINE_ID))!;
    expect(stored.online.n).toBe(scores.length);
    expect(cached.online.n).toBe(stored.online.n);
    expect(cached.online.mean).toBeCloseTo(stored.online.mean, 12);
    expect(cached.online.m2).toBeCloseTo(stored.online.m2, 12);
  });
});
