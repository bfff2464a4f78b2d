import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/childServer.js';

/** `miprox --version` was "unknown option" (exit 1), though main.ts said --version exits 0. */
describe('miprox --version', () => {
  it('prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const res = await runCli([flag], {});
      expect(res.code).toBe(0);
      expect(res.stdout).toBe(`${version}\n`);
      expect(res.stderr).toBe('');
    }
  });
});
