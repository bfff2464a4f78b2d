import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'bench/**/*.test.ts'],
    // Timeouts only catch a hung test. On a 2-core machine that runs other work beside the suite, tests
    // ran 4 to 12 times slower than on a quiet one (the whole suite 33 min instead of 14): a test of
    // 7 s and a hook starting servers met the former 30 s and 60 s limits. A slower test says so itself.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // expect.poll waits for a page or a server to catch up: 1 s (vitest's default) is tight on a busy 2-core machine.
    expect: { poll: { timeout: 5_000 } },
    // Integration tests start real servers and databases; two workers suit the 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/summaryReporter.ts'],
    setupFiles: ['./test/setupEnv.ts'],
  },
});
