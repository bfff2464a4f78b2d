import { describe, expect, it } from 'vitest';
import { OnlineEngine } from '../../../src/optimizer/runner/engine.js';
import type { JobRuntime } from '../../../src/optimizer/runner/jobRuntime.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import type { CandidateRecord, JobRecord, Store } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

const jobOf = (n: string) => ({ id: `pl_${n}`, systemId: `sys_${n}`, config: sampleConfig, status: 'running' } as unknown as JobRecord);
const candidate = (jobId: string, id: string, ordinal: number, n: number, mean: number): CandidateRecord => ({
  jobId, id, parentId: ordinal === 0 ? null : 'baseline', status: 'active', instruction: id, module: null, instructions: {}, demos: {}, tip: null, proposalId: null,
  ordinal, dispatches: n, online: { n, mean, m2: 0 }, rewardsInUnitInterval: true, val: { n: 0, mean: 0, m2: 0 },
  monitor: { n: 0, mean: 0, m2: 0 }, monitorInUnitInterval: true, createdAt: '', retiredAt: null,
});

/**
 * The job cache held each busy job for its idle TTL with up to 20,000 remembered rollouts (and up to
 * 50,000 in flight): 2,000 busy jobs were about 14 GB. A budget on the rollouts all cached jobs
 * remember together (JOB_CACHE_MAX_ROLLOUTS) now drops the least recently used jobs past it, never
 * the one being served nor a busy one, and a dropped job is rebuilt from the database as after its idle TTL.
 */
describe('OnlineEngine rollout budget', () => {
  const setup = (maxCachedRollouts: number) => {
    let now = 0;
    const names = ['a', 'b', 'c', 'd'];
    const jobs = new Map(names.map((n) => [`pl_${n}`, jobOf(n)]));
    const reads = new Map<string, number>();
    const infos: object[] = [];
    const debugs: object[] = [];
    const store = {
      getJob: async (id: string) => jobs.get(id) ?? null,
      getJobBySystemId: async (sys: string) => [...jobs.values()].find((j) => j.systemId === sys) ?? null,
      listCandidates: async (id: string) => {
        reads.set(id, (reads.get(id) ?? 0) + 1);
        return [candidate(id, 'baseline', 0, 7, 0.25), candidate(id, 'cand_a', 1, 5, 0.75)];
      },
      listModules: async () => [],
      onlineSeedCells: async () => new Map(),
      monitorSeedCells: async () => new Map(),
    } as unknown as Store;
    const log = { info: (obj: object | string) => void infos.push(obj as object), debug: (obj: object | string) => void debugs.push(obj as object), warn() {}, error() {} };
    const engine = new OnlineEngine(
      { store, clock: { now: () => now }, rng: createSeededRng(1), log, finishJob: async () => {}, propose: async () => {} },
      { cacheTtlMs: 1000, inFlightTtlMs: 600_000, maxCachedRollouts },
    );
    /** Caches job `n` (or uses it) at the next millisecond and makes it remember `count` more rollouts. */
    const use = async (n: string, count = 0, inFlight = false): Promise<JobRuntime> => {
      now += 1;
      const rt = (await engine.lookup(`sys_${n}`))!;
      const base = rt.rolloutsHeld;
      for (let i = 0; i < count; i++) {
        const id = `${n}-${base + i}`;
        rt.remember(id, { candidateId: 'baseline', split: 'online', seed: null });
        if (inFlight) rt.startInFlight(id, 'baseline', now);
      }
      return rt;
    };
    const cached = (n: string) => engine.freshRuntimeForSystem(`sys_${n}`) !== undefined;
    return { engine, use, cached, reads, infos, debugs, tick: (ms = 1) => (now += ms) };
  };

  it('keeps a running total of what the cached jobs remember, in flight included', async () => {
    const { engine, use } = setup(1000);
    const a = await use('a', 10);
    await use('b', 5, true); // 5 remembered and 5 in flight
    expect(engine.cachedRolloutCount).toBe(20);
    a.remember('a-0', { candidateId: 'cand_a', split: 'online', seed: null }); // known id: no new entry
    a.endInFlight('a-unknown');
    expect(engine.cachedRolloutCount).toBe(20);
    const b = await use('b');
    b.endInFlight('b-0');
    b.expireInFlight(1_000_000, 1);
    expect(engine.cachedRolloutCount).toBe(15);
  });

  it('past the budget drops the least recently used job, not the one being served, and rebuilds it from the database', async () => {
    const { engine, use, cached, reads, infos } = setup(100);
    const a = await use('a', 40);
    const before = a.candidates.map((c) => ({ id: c.id, online: c.online }));
    await use('b', 30);
    await use('c', 30);
    expect(engine.cachedRolloutCount).toBe(100); // at the budget: nothing dropped
    await use('b', 5); // 105: the next use looks for jobs to drop
    expect(engine.cachedRolloutCount).toBe(105);
    expect(infos).toHaveLength(0);
    await use('c');
    // a was used least recently: dropped; the total is under 90% of the budget, so b stays.
    expect(cached('a')).toBe(false);
    expect(cached('b') && cached('c')).toBe(true);
    expect(engine.cachedJobCount).toBe(2);
    expect(engine.cachedRolloutCount).toBe(65);
    expect(infos).toEqual([expect.objectContaining({ droppedJobs: 1, rolloutsBefore: 105, rolloutsAfter: 65, maxCachedRollouts: 100 })]);

    // A request still holding the dropped runtime may go on: what it remembers no longer counts.
    a.remember('a-late', { candidateId: 'baseline', split: 'online', seed: null });
    expect(engine.cachedRolloutCount).toBe(65);

    // Used again: a new runtime read from the store, as after the idle TTL, with the same candidates and scores.
    expect(reads.get('pl_a')).toBe(1);
    const rebuilt = await use('a');
    expect(rebuilt).not.toBe(a);
    expect(reads.get('pl_a')).toBe(2);
    expect(rebuilt.candidates.map((c) => ({ id: c.id, online: c.online }))).toEqual(before);
    expect(rebuilt.rolloutsHeld).toBe(0);
    expect(engine.cachedRolloutCount).toBe(65);
  });

  it('never drops the job being served, even when it is the least recently used', async () => {
    const { engine, use, cached, tick } = setup(100);
    await use('a', 60);
    await use('b', 25);
    await use('c', 25); // 110
    // A call for a (the least recently used until now) arrives: the next least recently used goes.
    tick();
    expect(engine.freshRuntimeForSystem('sys_a')).toBeDefined();
    expect([cached('a'), cached('b'), cached('c')]).toEqual([true, false, true]);
    expect(engine.cachedRolloutCount).toBe(85);
    expect(engine.cachedJobCount).toBe(2);
  });

  it('keeps busy jobs (a proposal running, a rollout insert not yet committed), and tries again a moment later', async () => {
    const { engine, use, cached, tick, infos, debugs } = setup(100);
    const a = await use('a', 30);
    const b = await use('b', 30);
    const c = await use('c', 30);
    a.proposalRunning = true;
    b.pendingInserts = 1;
    // A claim in flight is no reason to keep a job: it inserts first, so the database decides its candidate.
    c.claims.set('c-claim', new Promise(() => {}));
    await use('d', 20); // 110
    await use('d');
    expect([cached('a'), cached('b'), cached('c'), cached('d')]).toEqual([true, true, false, true]);
    expect(engine.cachedRolloutCount).toBe(80);

    await use('d', 30); // 110, and only busy jobs to drop
    await use('d');
    expect(engine.cachedRolloutCount).toBe(110);
    expect([infos.length, debugs.length]).toEqual([1, 1]); // the pass that dropped nothing says so at debug
    b.pendingInserts = 0; // committed: b may go, at the next pass
    await use('d');
    expect(debugs).toHaveLength(1); // not on every call: ROLLOUT_BUDGET_RETRY_MS after the last pass
    tick(100);
    await use('d');
    expect([cached('a'), cached('b'), cached('d')]).toEqual([true, false, true]);
    expect(engine.cachedRolloutCount).toBe(80);
  });

  it('while only the job being served is over the budget, looks again at most every 100 ms, not on every call', async () => {
    const { engine, use, tick, debugs } = setup(100);
    await use('a', 150); // one job alone over the budget
    for (let i = 0; i < 50; i++) await use('a'); // 50 ms of calls
    expect(debugs).toHaveLength(1);
    expect(engine.cachedRolloutCount).toBe(150);
    tick(50);
    await use('a');
    expect(debugs).toHaveLength(2);
  });
});
