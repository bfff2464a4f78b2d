import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type ProgramExport, ProgramExportSchema, type ProgramTarget, collect, exportedProgram } from '../sdk/index.js';
import { CliError } from './cliError.js';
import { type ClientFlags, addClientOptions, clientAction, positiveInt, printJson, sessionOf } from './clientOptions.js';
import { CANDIDATE_FIT, candidateColumns, candidateRow } from './jobFormat.js';
import { checkModuleName, onlyModule } from './moduleFilter.js';
import { printTable, terminalSafe } from './output.js';

interface CandidateFlags extends ClientFlags {
  status?: string;
  module?: string;
  sort?: string;
  limit?: number;
  full?: boolean;
}

interface AddFlags extends ClientFlags {
  module?: string;
  instruction?: string;
  program?: string;
  /** commander's --no-demos: false when given. */
  demos: boolean;
}

/**
 * `miprox add-candidate <jobId>`: warm start, one module's prompt (`--module --instruction`) or a whole
 * program from a `miprox jobs export` file (`--program`), to go on from another job's best program.
 */
export function registerAddCandidateCommand(program: Command): void {
  addClientOptions(program.command('add-candidate <jobId>'))
    .description('add your own prompt for one module, or a whole exported program, as a candidate (warm start)')
    .option('--module <name>', 'the module the instruction is for (may be left out in a job of one module)')
    .option('--instruction <text>', "the module's new instruction")
    .option('--program <file>', 'a whole program with its demos: the file of `miprox jobs export <otherJobId> -o FILE` (format json)')
    .option('--no-demos', "with --program: the instructions only, not the file's demos (e.g. for a job with a smaller max_demos)")
    .action(clientAction(async (id: string, opts: AddFlags) => {
      if ((opts.instruction === undefined) === (opts.program === undefined)) throw new CliError('give --instruction (with --module) or --program <file>, one of the two', 'usage_error');
      if (opts.program !== undefined && opts.module !== undefined) throw new CliError('--module goes with --instruction: a --program file names its modules itself', 'usage_error');
      if (opts.program === undefined && !opts.demos) throw new CliError('--no-demos goes with --program (it leaves out the file\'s demos)', 'usage_error');
      const exported = opts.program !== undefined ? programFile(opts.program) : null;
      const session = await sessionOf(id, opts);
      // Placed on this job's modules by their prompts: discovered modules of two jobs may share names, not prompts.
      const file = exported !== null ? placedProgram(exported, opts.program!, await session.status()) : null;
      const body = file !== null
        ? (opts.demos ? file : { instructions: file.instructions })
        : { ...(opts.module !== undefined ? { module: opts.module } : {}), instruction: opts.instruction! };
      const created = await session.addCandidate(body);
      if (exported !== null && opts.demos) warnLeftOutDemos(exported, opts.program!);
      if (opts.json) printJson(created);
      else {
        const changed = created.changed_modules ?? (created.module ? [created.module] : []);
        process.stdout.write(`added ${created.candidate_id}${changed.length > 0 ? ` (module${changed.length > 1 ? 's' : ''} ${changed.join(', ')})` : ''}\n`);
      }
    }));
}

/** A `miprox jobs export` file (format json), or a usage error saying what is wrong with it. */
function programFile(path: string): ProgramExport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, 'usage_error');
  }
  try {
    const exported = ProgramExportSchema.parse(JSON.parse(text));
    exportedProgram(exported); // a json export, else the error below
    return exported;
  } catch {
    throw new CliError(`${path} is not a program exported with format json (miprox jobs export <jobId> -o ${path})`, 'usage_error');
  }
}

/**
 * The export left out demos an older release collected that no import takes (`demos_left_out`): the
 * new candidate has fewer demos than the exported one, which a person moving a job should hear, on
 * stderr (stdout stays the command's answer, JSON under --json).
 */
function warnLeftOutDemos(exported: ProgramExport, path: string): void {
  if (!('format' in exported) || !Array.isArray(exported.modules)) return;
  for (const m of exported.modules) {
    const left = m.demos_left_out ?? [];
    if (left.length === 0) continue;
    const reasons = [...new Set(left.map((d) => d.reason))].join('; ');
    process.stderr.write(terminalSafe(`note: ${path} left out ${left.length} demo${left.length === 1 ? '' : 's'} of module ${m.name} that no import takes (${reasons}); the candidate has the others\n`));
  }
}

/** The file's texts and demos on the job's modules (exportedProgram with the job as target), or a usage error. */
function placedProgram(exported: ProgramExport, path: string, job: ProgramTarget): ReturnType<typeof exportedProgram> {
  try {
    return exportedProgram(exported, job);
  } catch (err) {
    throw new CliError(`${path}: ${(err as Error).message}`, 'usage_error');
  }
}

/**
 * `miprox candidates <jobId>`: every candidate instruction of a job with its statistics, and for a
 * program of several modules the module each candidate changed.
 */
export function registerCandidatesCommand(program: Command): void {
  addClientOptions(program.command('candidates <jobId>'))
    .description("list a job's candidates (also takes a session id) with rollouts, mean reward and interval")
    .option('--status <status>', 'only candidates in this status (active, retired)')
    .option('--module <name>', 'only candidates that changed this module of the program (and the baseline, to compare with)')
    .option('--sort <sort>', 'key[:asc|desc], comma-separated; keys: avg_reward, reward_count, rollout_count, val_score (best first without a direction), created_at (oldest first without one)')
    .option('--limit <n>', 'show at most n candidates', positiveInt)
    .option('--full', 'print whole instructions instead of shortening them (one candidate\'s whole program: miprox jobs export <jobId> --candidate <id>)')
    .action(clientAction(async (id: string, opts: CandidateFlags) => {
      const session = await sessionOf(id, opts);
      const filters = { ...(opts.status ? { status: opts.status } : {}), ...(opts.sort ? { sort: opts.sort } : {}) };
      if (opts.module !== undefined) await checkModuleName(session, opts.module);
      // Filtered here, a page of --limit candidates may hold fewer of the module's: full pages then.
      const pages = session.iterateCandidates({ ...filters, limit: opts.module === undefined ? Math.min(opts.limit ?? 200, 200) : 200 });
      const items = await collect(opts.module === undefined ? pages : onlyModule(pages, opts.module), opts.limit);
      if (opts.json) printJson(items);
      // --full: whole instructions, so the table is not fitted to the terminal either.
      else printTable(items.map((c) => candidateRow(c, opts.full ? Number.POSITIVE_INFINITY : 60, items)), candidateColumns(items), { ...CANDIDATE_FIT, ...(opts.full ? { width: Number.POSITIVE_INFINITY } : {}) });
    }));
}
