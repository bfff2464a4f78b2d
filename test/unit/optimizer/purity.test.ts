import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The optimizer core must stay pure: no I/O, no clock, no global randomness (DESIGN.md). */
const CORE = join(import.meta.dirname, '../../../src/optimizer/core');
const files = readdirSync(CORE).filter((f) => f.endsWith('.ts'));

describe('optimizer core purity', () => {
  it.each(files)('%s imports nothing from node and never reads the clock or Math.random', (file) => {
    const code = readFileSync(join(CORE, file), 'utf8');
    expect(code).not.toMatch(/from ['"]node:/);
    expect(code).not.toMatch(/\bDate\.now\(|new Date\(|Math\.random\(|process\./);
    for (const m of code.matchAll(/from ['"](\.[^'"]+)['"]/g)) {
      // Only sibling core modules, the Rng type and the typed errors (which import nothing).
      expect(m[1]).toMatch(/^\.\/[a-zA-Z]+\.js$|^\.\.\/\.\.\/shared\/(rng|errors)\.js$/);
    }
  });
});
