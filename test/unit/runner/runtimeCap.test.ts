import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { OnlineEngine } from '../../../src/optimizer/runner/engine.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import type { JobRecord, Store } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

const jobOf = (n: string) => ({ id: `pl_${n}`, systemId: `sys_${n}`, config: sampleConfig, status: 'running' } as unknown as JobRecord);

/**
 * Past its cap the job cache dropped the job cached first, however busy it still was (a rebuild of
 * three reads on its next call), and kept jobs nobody had called since. It now drops the least
 * recently used.
 */
describe('OnlineEngine job cache cap', () => {
  it('drops the least recently used job, not the first one cached', async () => {
    let now = 0;
    const jobs = new Map(['a', 'b', 'c', 'd'].map((n) => [`pl_${n}`, jobOf(n)]));
    const store = {
      getJob: async (id: string) => jobs.get(id) ?? null,
      getJobBySystemId: async (sys: string) => [...jobs.values()].find((j) => j.systemId === sys) ?? null,
      listCandidates: async () => [],
      listModules: async () => [],
      onlineSeedCells: async () => new Map(),
      monitorSeedCells: async () => new Map(),
    } as unknown as Store;
    const engine = new OnlineEngine(
      { store, clock: { now: () => now }, rng: createSeededRng(1), log: pino({ level: 'silent' }), finishJob: async () => {}, propose: async () => {} },
      { cacheTtlMs: 1000, inFlightTtlMs: 600_000, maxRuntimes: 3 },
    );
    const a = await engine.runtimeFor(jobOf('a'));
    now = 1;
    await engine.runtimeFor(jobOf('b'));
    now = 2;
    await engine.runtimeFor(jobOf('c'));
    now = 3;
    expect(engine.freshRuntimeForSystem('sys_a')).toBe(a); // a proxied call: the first job is the busy one
    now = 4;
    await engine.runtimeFor(jobOf('d'));
    expect(engine.cachedJobCount).toBe(3);
    expect(engine.freshRuntimeForSystem('sys_a')).toBe(a);
    expect(engine.freshRuntimeForSystem('sys_b')).toBeUndefined();
    expect(engine.freshRuntimeForSystem('sys_c')).toBeDefined();
  });
});
