import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for a page or a server to catch up: 1 s (vitest's default) is tight on a busy 2-core machine.
    expect: { poll: { timeout: 5_000 } },
    // Integration tests start real servers and databases; two workers suit the 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/summaryReporter.ts'],
  },
});
