/**
 * Runs before every test file (vitest setupFiles). The shell that runs the suite must not decide what
 * the CLIs it spawns print: an exported COLUMNS fits their tables to it (src/cli/tableWidth.ts), and
 * the tests that check whole rows would then fail on that machine only. Tests that want a width set it.
 */
delete process.env.COLUMNS;
