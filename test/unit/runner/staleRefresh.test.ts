import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { OnlineEngine } from '../../../src/optimizer/runner/engine.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import type { JobRecord, Store } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

const job = { id: 'pl_x', systemId: 'sys_x', config: sampleConfig, status: 'running' } as unknown as JobRecord;

/**
 * Issue 18: a stale cache found by many concurrent calls is refreshed once. Each call used to start
 * its own refresh (three reads), a dozen per expiry on a busy PostgreSQL instance.
 */
describe('OnlineEngine stale-cache refresh', () => {
  it('runs one refresh for the calls that find the cache stale together, and another at the next expiry', async () => {
    let now = 0;
    let reads = 0;
    let release: () => void = () => {};
    const store = {
      getJob: async () => {
        reads += 1;
        await new Promise<void>((resolve) => { release = resolve; });
        return job;
      },
      listCandidates: async () => [],
      listModules: async () => [],
      onlineSeedCells: async () => [],
      monitorSeedCells: async () => [],
    } as unknown as Store;
    const engine = new OnlineEngine(
      { store, clock: { now: () => now }, rng: createSeededRng(1), log: pino({ level: 'silent' }), finishJob: async () => {}, propose: async () => {} },
      { cacheTtlMs: 1000, inFlightTtlMs: 60_000 },
    );
    const first = engine.runtimeFor(job);
    await Promise.resolve();
    release();
    const rt = await first;
    expect(reads).toBe(1);

    now = 1500; // stale
    const lookups = Array.from({ length: 10 }, () => engine.lookup(job.id));
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toBe(2);
    release();
    expect(new Set(await Promise.all(lookups))).toEqual(new Set([rt]));
    expect(rt.fetchedAt).toBe(1500);

    now = 1600; // fresh again: no read
    await engine.lookup(job.id);
    expect(reads).toBe(2);

    now = 3000; // the next expiry starts a new refresh
    const again = engine.lookup(job.id);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toBe(3);
    release();
    await again;
  });
});
