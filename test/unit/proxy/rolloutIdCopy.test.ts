import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The job cache remembers rollout ids for hours. Taken as they come from the router (slices of the
 * request URL), each kept its whole URL alive: a long query string held in memory per rollout.
 * rolloutIdOf must hand back an independent copy. Measured in a child process with --expose-gc:
 * 200 ids cut from 200 distinct 256 KB URLs, kept in an array, must not keep the URLs (50 MB).
 */
const SCRIPT = `
  const { rolloutIdOf } = await import('./src/proxy/requestBody.ts');
  const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
  const before = heap();
  const kept = [];
  for (let i = 0; i < 200; i++) {
    const url = 'rollout-' + String(i).padStart(28, '0') + '/chat/completions?pad=' + 'x'.repeat(256 * 1024) + i;
    kept.push(rolloutIdOf(url.slice(0, 36)));
  }
  const grew = heap() - before;
  process.stdout.write(JSON.stringify({ grew, n: new Set(kept).size, first: kept[0] }));
`;

describe('rolloutIdOf', () => {
  it('returns a copy that does not keep the request URL alive', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', SCRIPT], { encoding: 'utf8' });
    const { grew, n, first } = JSON.parse(out) as { grew: number; n: number; first: string };
    expect(n).toBe(200);
    expect(first).toBe(`rollout-${'0'.repeat(28)}`);
    // The URLs are 50 MB together; the ids about 10 KB. 5 MB leaves room for the loader's own garbage.
    expect(grew).toBeLessThan(5 * 1024 * 1024);
  });
});
