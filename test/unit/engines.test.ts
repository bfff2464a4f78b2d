import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Issue 16 item 10: `npm install` warned EBADENGINE (cookie@2.0.2 wants node >= 22) while
 * package.json promised >= 20.18. The promise must hold for every locked package, dev ones included
 * (a checkout installs them): the lowest Node that package.json admits satisfies every `engines.node`.
 */
const ROOT = join(import.meta.dirname, '..', '..');
type Version = [number, number, number];

const parse = (v: string): Version => {
  const [a = 0, b = 0, c = 0] = v.replace(/^v/, '').split('.').map((x) => (x === 'x' || x === '*' ? 0 : Number(x)));
  return [a, b, c];
};
const cmp = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The npm range forms found in lockfiles: `*`, `>=x`, `>x`, `^x`, `~x`, `x.x`, `x`, joined by `||` or spaces. */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alt) => {
    const parts = alt.trim().replace(/(>=|<=|>|<|\^|~)\s+/g, '$1').split(/\s+/).filter((p) => p !== '');
    return parts.every((p) => {
      if (p === '*' || p === '') return true;
      const m = /^(>=|<=|>|<|\^|~)?(.+)$/.exec(p);
      const op = m?.[1] ?? '';
      const v = parse(m?.[2] ?? '0');
      const d = cmp(version, v);
      if (op === '>=') return d >= 0;
      if (op === '>') return d > 0;
      if (op === '<=') return d <= 0;
      if (op === '<') return d < 0;
      if (op === '^') return d >= 0 && version[0] === v[0] && (v[0] !== 0 || version[1] === v[1]);
      if (op === '~') return d >= 0 && version[0] === v[0] && version[1] === v[1];
      // A bare version or x-range: the given components must match.
      const given = (m?.[2] ?? '').split('.').filter((x) => x !== 'x' && x !== '*').length;
      return version.slice(0, given).every((n, i) => n === v[i]);
    });
  });
}

describe('engines', () => {
  it('reads the range forms npm uses', () => {
    expect(satisfies([20, 19, 0], '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies([20, 18, 0], '^20.19.0 || >=22.12.0')).toBe(false);
    expect(satisfies([20, 19, 0], '>=22')).toBe(false);
    expect(satisfies([20, 19, 0], '20.x || 22.x')).toBe(true);
    expect(satisfies([20, 19, 0], '>= 10.x')).toBe(true);
    expect(satisfies([20, 19, 0], '^10 || ^12 || >=14')).toBe(true);
  });

  it('package.json admits no Node version that a locked package refuses', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    const floor = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node)?.[1];
    expect(floor, 'engines.node is a plain ">=x.y" floor').toBeDefined();
    const lowest = parse(floor!);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: unknown }> };
    const refusing = Object.entries(lock.packages).flatMap(([path, p]) => {
      const node = typeof p.engines === 'object' && p.engines !== null && !Array.isArray(p.engines) ? (p.engines as { node?: unknown }).node : undefined;
      return typeof node === 'string' && !satisfies(lowest, node) ? [`${path || 'miprox'}: ${node}`] : [];
    });
    expect(refusing).toEqual([]);
    // And the Node running the tests is one package.json admits.
    expect(satisfies(parse(process.versions.node), pkg.engines.node)).toBe(true);
  });
});
