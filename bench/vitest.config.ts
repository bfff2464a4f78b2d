import { defineConfig } from 'vitest/config';

/** Tests of the benchmark helpers (bench/lib), kept beside them: `npx vitest run --config bench/vitest.config.ts`. */
export default defineConfig({
  test: {
    include: ['bench/**/*.test.ts'],
    root: new URL('..', import.meta.url).pathname,
    testTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
