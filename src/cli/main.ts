import { Command } from 'commander';
import { registerCandidatesCommand } from './candidatesCommand.js';
import { errorAsJson } from './cliError.js';
import { registerDemoCommand } from './demoCommand.js';
import { registerJobsCommands } from './jobsCommand.js';
import { registerKeyCommands } from './keysCommand.js';
import { registerMigrateCommand } from './migrateCommand.js';
import { registerServeCommand } from './serveCommand.js';

/** `miprox` entry point. Each command lives in its own module; this only assembles them. */
export function buildCli(): Command {
  const program = new Command('miprox')
    .description('Self-hosted MIPRO Online: optimize prompts from live traffic through an OpenAI-compatible proxy')
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerDemoCommand(program);
  registerKeyCommands(program);
  registerJobsCommands(program);
  registerCandidatesCommand(program);
  return program;
}

async function run(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) process.exit(e.exitCode ?? 1);
    // Scripts that asked for --json get the error as JSON too (still on stderr, still exit code 1).
    if (argv.includes('--json')) process.stderr.write(`${JSON.stringify(errorAsJson(err))}\n`);
    else process.stderr.write(`miprox: ${e.message ?? String(err)}\n`);
    process.exit(1);
  }
}

void run(process.argv);
