import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { OnlineEngine } from '../../src/optimizer/runner/engine.js';
import { systemClock } from '../../src/shared/clock.js';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import { createSeededRng } from '../../src/shared/rng.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import type { Store } from '../../src/store/types.js';
import { sampleConfig } from '../store/storeContract.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

/**
 * Issue 18: on PostgreSQL a proxied call with a client rollout id the instance does not remember
 * claims the id (insert first, one statement) instead of reading it and then inserting (two). When
 * the id turns out to be known, the stored candidate serves and the bandit's choice is taken back:
 * its stint, its dispatch count and its in-flight slot are as if nothing had been chosen.
 */
describe('dispatch of client rollout ids by claim (PostgreSQL)', () => {
  const schema = uniqueSchema('claimdispatch');
  let inner: Store | undefined;
  afterAll(async () => {
    await inner?.close();
    await dropPostgresSchema(PG_URL, schema);
  });

  it('reads nothing, serves a known id its stored candidate and leaves the stint as if it never came', async () => {
    inner = await openPostgresStore(PG_URL, schema, systemClock);
    const base = inner;
    let reads = 0;
    const store: Store = new Proxy(base, {
      get(target, prop, receiver) {
        if (prop === 'getRollout') reads += 1;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const engine = new OnlineEngine(
      { store, clock: systemClock, rng: createSeededRng(3), log: pino({ level: 'silent' }), finishJob: async () => {}, propose: async () => {} },
      { cacheTtlMs: 60_000, inFlightTtlMs: 60_000 },
    );
    const tenant = await base.createTenant('t');
    // R = 3 with no rewards: the nursery serves the baseline first, a stint of three, then cand_b.
    const job = await base.createJob({
      id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), correlationId: null, metadata: {},
      config: { ...sampleConfig, mipro: { ...sampleConfig.mipro, online_rollouts_per_candidate: 3, online_proposer_min_rollouts: 1000 } },
      modules: [{ name: 'main', template: 'Answer.' }],
    });
    await base.addCandidate(job.id, { id: 'cand_b', parentId: BASELINE_ID, instruction: 'b', module: 'main', instructions: { main: 'b' }, tip: null, proposalId: null }, 20);
    const rt = (await engine.lookup(job.id))!;
    const dispatch = (rolloutId: string) => engine.dispatch(rt, { rolloutId });
    const cached = (id: string) => rt.candidates.find((c) => c.id === id)!;
    // Rollouts another instance dispatched to cand_b (this instance's cache does not know them).
    for (const id of ['known1', 'known2']) await base.insertRollout({ jobId: job.id, id, candidateId: 'cand_b', seed: null, split: 'online', correlationId: null, inputMessages: null });

    expect((await dispatch('new1')).candidate.id).toBe(BASELINE_ID);
    expect(rt.stint).toEqual({ candidateId: BASELINE_ID, remaining: 2 });
    expect((await dispatch('known1')).candidate.id).toBe('cand_b');
    expect(rt.stint).toEqual({ candidateId: BASELINE_ID, remaining: 2 });
    expect([cached(BASELINE_ID).dispatches, rt.inFlightOf(BASELINE_ID)]).toEqual([1, 1]);
    // A known id and a new one in the same turn: the known one's choice is returned to the stint.
    const [k2, n2] = await Promise.all([dispatch('known2'), dispatch('new2')]);
    expect([k2.candidate.id, n2.candidate.id]).toEqual(['cand_b', BASELINE_ID]);
    expect(rt.stint).toEqual({ candidateId: BASELINE_ID, remaining: 1 });
    expect([cached(BASELINE_ID).dispatches, rt.inFlightOf(BASELINE_ID)]).toEqual([2, 2]);
    expect((await dispatch('new3')).candidate.id).toBe(BASELINE_ID); // the stint's third
    expect((await dispatch('new4')).candidate.id).toBe('cand_b'); // then cand_b's nursery
    // Three calls of one new id at once on this instance: one claim, one candidate.
    const same = await Promise.all([dispatch('multi'), dispatch('multi'), dispatch('multi')]);
    expect(new Set(same.map((d) => d.candidate.id)).size).toBe(1);
    expect((await base.getRollout(job.id, 'multi'))?.candidateId).toBe(same[0]!.candidate.id);
    // Later calls of these ids are remembered; and no call read its rollout first.
    expect((await dispatch('known1')).candidate.id).toBe('cand_b');
    expect(reads).toBe(0);
    const stored = (await base.getJob(job.id))!;
    expect(stored.rolloutCount).toBe(2 + 4 + 1);
    expect((await base.getCandidate(job.id, BASELINE_ID))?.dispatches).toBe(3);
  });
});
