import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerAddCandidateCommand, registerCandidatesCommand } from './candidatesCommand.js';
import { CliError, errorAsJson } from './cliError.js';
import { registerDemoCommand } from './demoCommand.js';
import { registerJobsCommands } from './jobsCommand.js';
import { registerKeyCommands } from './keysCommand.js';
import { registerMigrateCommand } from './migrateCommand.js';
import { jsonText, terminalSafe } from './output.js';
import { registerServeCommand } from './serveCommand.js';

/**
 * `miprox` entry point. Each command lives in its own module; this only assembles them. `json`: the
 * run asked for --json, so a usage error (unknown option, bad choice) is not printed as prose with
 * the help after it: `run` reports it as JSON like every other error.
 */
export function buildCli(opts: { json?: boolean } = {}): Command {
  const program = new Command('miprox')
    .description('Self-hosted MIPRO Online: optimize prompts from live traffic through an OpenAI-compatible proxy')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride();
  // Before the commands are added: subcommands copy the output settings when they are created.
  if (opts.json) program.configureOutput({ outputError: () => undefined });
  else program.showHelpAfterError();
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerDemoCommand(program);
  registerKeyCommands(program);
  registerJobsCommands(program);
  registerCandidatesCommand(program);
  registerAddCandidateCommand(program);
  return program;
}

/** This release's version, from the package.json above this file (src/cli or dist/src/cli). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'miprox' && pkg.version) return pkg.version;
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

async function run(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  try {
    await buildCli({ json }).parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // Help and --version exit 0 and were printed; a usage error was printed too, unless --json.
      if (json && (e.exitCode ?? 1) !== 0) {
        const message = (e.message ?? '').replace(/^error: /, '');
        process.stderr.write(`${jsonText(errorAsJson(new CliError(message, 'usage_error')))}\n`);
      }
      process.exit(e.exitCode ?? 1);
    }
    // Scripts that asked for --json get the error as JSON too (still on stderr, still exit code 1).
    if (json) process.stderr.write(`${jsonText(errorAsJson(err))}\n`);
    // Through the terminal filter: a message may quote what a server (any --url) answered.
    else process.stderr.write(`miprox: ${terminalSafe(e.message ?? String(err))}\n`);
    process.exit(1);
  }
}

// A reader that stops early (`miprox candidates ID | head -1`) closes the pipe: that ends the output,
// it is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

void run(process.argv);
