import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { moduleOf, summarizeProfile } from '../cpuProfile.js';
import { processCpuMs } from '../procCpu.js';

describe('summarizeProfile', () => {
  // root -> handle (src/proxy) -> execute (node_modules/kysely); plus idle.
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4] },
      { id: 2, callFrame: { functionName: 'handle', url: 'file:///repo/src/proxy/proxyRoute.ts', lineNumber: 9 }, children: [3] },
      { id: 3, callFrame: { functionName: 'execute', url: 'file:///repo/node_modules/kysely/dist/esm/x.js', lineNumber: 0 }, children: [] },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 }, children: [] },
    ],
    samples: [2, 3, 3, 3, 4, 4],
    timeDeltas: [1000, 1000, 1000, 1000, 5000, 5000],
  };

  it('splits busy time by module, excludes idle, and gives src/ functions inclusive time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prof-test-'));
    const path = join(dir, 'p.cpuprofile');
    writeFileSync(path, JSON.stringify(profile));
    const s = summarizeProfile(path);
    expect(s.busyMs).toBe(4);
    expect(s.idleMs).toBe(10);
    expect(s.byModule[0]).toMatchObject({ name: 'kysely', ms: 3, share: 0.75 });
    expect(s.byModule[1]).toMatchObject({ name: 'src/proxy/', ms: 1 });
    expect(s.topInclusiveSrc[0]).toMatchObject({ name: 'handle src/proxy/proxyRoute.ts:10', ms: 4, share: 1 });
  });

  it('names modules by package, src folder or node internals', () => {
    expect(moduleOf('file:///a/node_modules/@scope/pkg/x.js', 'f')).toBe('@scope/pkg');
    expect(moduleOf('file:///a/src/store/kyselyStore.ts', 'f')).toBe('src/store/');
    expect(moduleOf('node:internal/streams/writable', 'f')).toBe('node:internal');
    expect(moduleOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(moduleOf('', 'writev')).toBe('(native)');
  });
});

describe.runIf(process.platform === 'linux')('processCpuMs', () => {
  it('grows while this process burns CPU', () => {
    // Burn until the counter shows 50 ms of CPU (bounded by 10 s of wall time): on a loaded machine a
    // fixed wall-clock burn may get little CPU, but the counter must still move.
    const before = processCpuMs(process.pid)!;
    const giveUp = Date.now() + 10_000;
    let x = 0;
    while (processCpuMs(process.pid)! - before < 50 && Date.now() < giveUp) {
      for (let i = 0; i < 100_000; i++) x += Math.sqrt(x + 1);
    }
    expect(x).toBeGreaterThan(0);
    expect(processCpuMs(process.pid)! - before).toBeGreaterThanOrEqual(50);
  });

  it('is null for a process that does not exist', () => {
    expect(processCpuMs(2 ** 22 + 12345)).toBeNull();
  });
});
