import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { OnlineEngine } from '../../src/optimizer/runner/engine.js';
import { systemClock } from '../../src/shared/clock.js';
import { BASELINE_ID, newJobId, newSystemId } from '../../src/shared/ids.js';
import { createSeededRng } from '../../src/shared/rng.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import type { JobRecord, Store } from '../../src/store/types.js';
import { sampleConfig } from '../store/storeContract.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';

/**
 * Issue 18: on PostgreSQL a JSON call with a client rollout id this instance does not remember may
 * go upstream while its claim is in flight (the caller holds the answer until the claim is known).
 * A new id confirms the speculated candidate; an id stored with another candidate does not: the
 * caller must drop that answer, and the next dispatch serves the stored candidate. The bandit's
 * choice is taken back as for any claim of a known id, and the speculation budget bounds the waste.
 */
/**
 * A PostgreSQL store in a schema of its own (dropped after the block), an engine on it, and a job
 * whose nursery serves the baseline throughout (R = 1000 with no rewards).
 */
function usePostgresEngine(schemaPrefix: string): () => Promise<{ base: Store; engine: OnlineEngine; job: JobRecord }> {
  const schema = uniqueSchema(schemaPrefix);
  let store: Store | undefined;
  afterAll(async () => {
    await store?.close();
    await dropPostgresSchema(PG_URL, schema);
  });
  return async () => {
    store = await openPostgresStore(PG_URL, schema, systemClock);
    const base = store;
    const engine = new OnlineEngine(
      { store: base, clock: systemClock, rng: createSeededRng(3), log: pino({ level: 'silent' }), finishJob: async () => {}, propose: async () => {} },
      { cacheTtlMs: 60_000, inFlightTtlMs: 60_000 },
    );
    const tenant = await base.createTenant('t');
    const job = await base.createJob({
      id: newJobId(), tenantId: tenant.id, systemId: newSystemId(), correlationId: null, metadata: {},
      config: { ...sampleConfig, mipro: { ...sampleConfig.mipro, online_rollouts_per_candidate: 1000, online_proposer_min_rollouts: 1000 } },
      modules: [{ name: 'main', template: 'Answer.' }],
    });
    return { base, engine, job };
  };
}

describe('speculative dispatch of client rollout ids (PostgreSQL)', () => {
  const start = usePostgresEngine('specdispatch');

  it('confirms new ids, refuses known ones stored with another candidate, and stops after its budget of wrong guesses', async () => {
    const { base, engine, job } = await start();
    await base.addCandidate(job.id, { id: 'cand_b', parentId: BASELINE_ID, instruction: 'b', module: 'main', instructions: { main: 'b' }, tip: null, proposalId: null }, 20);
    const rt = (await engine.lookup(job.id))!;
    const cached = (id: string) => rt.candidates.find((c) => c.id === id)!;
    // Another instance's rollouts, stored with cand_b (this instance's bandit would choose the baseline).
    const known = Array.from({ length: 20 }, (_, i) => `known${i}`);
    for (const id of known) await base.insertRollout({ jobId: job.id, id, candidateId: 'cand_b', seed: null, split: 'online', correlationId: null, inputMessages: null });

    const fresh = await engine.dispatch(rt, { rolloutId: 'new1', speculate: true });
    expect(fresh.candidate.id).toBe(BASELINE_ID);
    expect(fresh.confirmed).toBeDefined();
    expect(await fresh.confirmed).toBe(true);
    expect((await base.getRollout(job.id, 'new1'))?.candidateId).toBe(BASELINE_ID);

    const guessed = await engine.dispatch(rt, { rolloutId: 'known0', speculate: true });
    expect(guessed.candidate.id).toBe(BASELINE_ID); // the speculation: wrong
    expect(await guessed.confirmed).toBe(false);
    // The caller dispatches again: the stored candidate, known since the claim, nothing speculative.
    const again = await engine.dispatch(rt, { rolloutId: 'known0', speculate: true });
    expect([again.candidate.id, again.confirmed]).toEqual(['cand_b', undefined]);
    // The wrong guess was taken back: one dispatch and one in-flight rollout (new1), as without it.
    expect([cached(BASELINE_ID).dispatches, rt.inFlightOf(BASELINE_ID)]).toEqual([1, 1]);

    // Every guess wrong from here: after the budget's 16 credits (one used above), no more speculation.
    const outcomes = [];
    for (const id of known.slice(1)) {
      const d = await engine.dispatch(rt, { rolloutId: id, speculate: true });
      outcomes.push(d.confirmed === undefined ? 'waited' : (await d.confirmed) ? 'confirmed' : 'wasted');
      expect(d.confirmed === undefined ? d.candidate.id : 'cand_b').toBe('cand_b');
    }
    expect(outcomes.filter((o) => o === 'wasted').length).toBe(15);
    expect(outcomes.slice(15)).toEqual(['waited', 'waited', 'waited', 'waited']);
    expect((await base.getJob(job.id))?.rolloutCount).toBe(1 + known.length);
  });
});

describe('speculative dispatch of a client rollout id stored on another seed (PostgreSQL)', () => {
  const start = usePostgresEngine('specseed');

  it('drops the speculated answer (confirmed false, not a rejection) and the dispatch again refuses the seed', async () => {
    const { base, engine, job } = await start();
    const rt = (await engine.lookup(job.id))!;
    // Stored by another instance on seed 1, with the candidate this instance would choose (the baseline).
    await base.insertRollout({ jobId: job.id, id: 'seeded', candidateId: BASELINE_ID, seed: 1, split: 'online', correlationId: null, inputMessages: null });
    const guessed = await engine.dispatch(rt, { rolloutId: 'seeded', seed: 2, speculate: true });
    expect(guessed.candidate.id).toBe(BASELINE_ID);
    // The caller holds the answer until this settles: false drops it unsent and unrecorded (a
    // rejection would fail the call as a failed claim, recording it and logging the client's 422).
    expect(await guessed.confirmed).toBe(false);
    await expect(guessed.persisted).resolves.toBeUndefined();
    // The caller's dispatch again: refused for its seed, from memory.
    await expect(engine.dispatch(rt, { rolloutId: 'seeded', seed: 2 })).rejects.toThrow(/not this rollout's seed/);
    // The rollout's own seed (or none) still runs on it.
    expect((await engine.dispatch(rt, { rolloutId: 'seeded', seed: 1 })).candidate.id).toBe(BASELINE_ID);
    expect((await base.getRollout(job.id, 'seeded'))?.seed).toBe(1);
  });
});
