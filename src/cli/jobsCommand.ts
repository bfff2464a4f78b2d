import { type Command, Option } from 'commander';
import { EXPORT_FORMATS, type ExportFormat, MiproOnlineSession, collect, exportedCandidateId, isTerminalStatus } from '../sdk/index.js';
import { perCallEvent } from './perCallEvent.js';
import { type ClientFlags, addClientOptions, clientAction, jobIdOf, jobsClient, positiveInt, printJson } from './clientOptions.js';
import { CANDIDATE_FIT, JOB_COLUMNS, JOB_FIT, UNMATCHED_SHOWN, candidateColumns, candidateRow, jobDetailLines, jobRow, programLines, unmatchedLines } from './jobFormat.js';
import { finalSummary, watchJob } from './jobWatch.js';
import { CliError } from './cliError.js';
import { writePrivateFile } from './privateFile.js';
import { outputWidth } from './tableWidth.js';
import { jsonText, printTable, writeText } from './output.js';

const out = writeText;

/** `miprox jobs ...`: the jobs API through the SDK, tables for people and --json for scripts. */
export function registerJobsCommands(program: Command): void {
  const jobs = program.command('jobs').description('list, inspect, follow and steer optimization jobs on a miprox server');

  addClientOptions(jobs.command('list'))
    .description("list this key's jobs, newest first")
    .option('--status <status>', 'only jobs in this status (running, paused, succeeded, failed, cancelled)')
    .option('--limit <n>', 'show at most n jobs', positiveInt, 50)
    .action(clientAction(async (opts: ClientFlags & { status?: string; limit: number }) => {
      const client = jobsClient(opts);
      const items = await collect(client.iterate({ ...(opts.status ? { status: opts.status } : {}), limit: Math.min(opts.limit, 200) }), opts.limit);
      if (opts.json) printJson(items);
      else printTable(items.map(jobRow), JOB_COLUMNS, JOB_FIT);
    }));

  addClientOptions(jobs.command('show <jobId>'))
    .description('show one job: status, best score with its interval, candidates')
    .action(clientAction(async (jobId: string, opts: ClientFlags) => {
      const client = jobsClient(opts);
      const job = await client.get(await jobIdOf(jobId, opts));
      if (opts.json) {
        printJson(job);
        return;
      }
      out(`${jobDetailLines(job, await perCallEvent(job, client.http)).join('\n')}\n`);
      // Which texts passed through, and which module each nearly matched: the count alone sent people
      // to an events list the CLI could not show.
      if (job.unmatched_prompts) {
        const events = await MiproOnlineSession.fromJob(job, client.http).events({ eventType: 'mipro.module.unmatched', limit: UNMATCHED_SHOWN });
        out(`\n${unmatchedLines(events, job.unmatched_prompts).join('\n')}\n`);
      }
      const program = programLines(job, outputWidth());
      if (program.length > 0) out(`\n${program.join('\n')}\n`);
      out('\ncandidates:\n');
      const candidates = job.candidates ?? [];
      printTable(candidates.map((c) => candidateRow(c, 60, candidates)), candidateColumns(candidates), CANDIDATE_FIT);
    }));

  addClientOptions(jobs.command('watch <jobId>'))
    .description('follow a job live until it is final (Ctrl-C stops watching; the job keeps running)')
    .option('--interval <ms>', 'time between polls', positiveInt, 1000)
    .action(clientAction(async (jobId: string, opts: ClientFlags & { interval: number }) => {
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        const job = await watchJob(jobsClient(opts), await jobIdOf(jobId, opts), { pollMs: opts.interval, json: Boolean(opts.json), stream: process.stdout, signal: abort.signal });
        if (opts.json) return;
        if (job) out(`${finalSummary(job)}\n`);
        else out(`stopped watching; job ${jobId} goes on\n`);
      } finally {
        process.off('SIGINT', onSigint);
      }
    }));

  addClientOptions(jobs.command('promote <jobId> <candidateId>'))
    .description('end the job serving this candidate from now on (baseline: roll back; best: the job\'s best candidate now, its best_candidate_id)')
    .action(clientAction(async (jobId: string, candidateId: string, opts: ClientFlags) => {
      const client = jobsClient(opts);
      const id = await jobIdOf(jobId, opts);
      // `best`: what a reward's `stop: true` would serve, without a rollout to send it with.
      const target = candidateId === 'best' ? (await client.get(id)).best_candidate_id ?? 'baseline' : candidateId;
      const job = await client.promote(id, target);
      if (opts.json) printJson(job);
      else out(`job ${job.job_id}: ${job.status}, serving ${job.served_candidate_id ?? target}\n`);
    }));

  addClientOptions(jobs.command('export <jobId>'))
    .description('the program exactly as the proxy renders it (json, messages) or as a DSPy program state (dspy): what the job serves, or its champion')
    .addOption(new Option('--format <format>', 'what to write').choices(EXPORT_FORMATS).default('json'))
    .option('--candidate <id>', 'export this candidate instead (best: the job\'s best candidate now, its best_candidate_id; a cancelled job serves the baseline)')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(clientAction(async (jobId: string, opts: ClientFlags & { format: ExportFormat; candidate?: string; output?: string }) => {
      const client = jobsClient(opts);
      const id = await jobIdOf(jobId, opts);
      // `best` as `jobs promote` reads it: after a cancel (which serves the baseline) it is how to take the champion out.
      const candidateId = opts.candidate === 'best' ? (await client.get(id)).best_candidate_id ?? 'baseline' : opts.candidate;
      const exported = await client.export(id, { format: opts.format, ...(candidateId ? { candidateId } : {}) });
      // JSON (jsonText: nothing a terminal acts on), so standard output holds what `-o FILE` writes.
      const text = `${jsonText(exported, 2)}\n`;
      if (!opts.output) {
        process.stdout.write(text);
        return;
      }
      try {
        // Owner-only: an export holds demos, which are users' real call text.
        writePrivateFile(opts.output, text);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const reason = code === 'ENOENT' ? 'its folder does not exist'
          : code === 'EPERM' ? 'it belongs to another user, and it would stay readable by others (it is left as it was)'
          : (err as Error).message;
        throw new CliError(`cannot write ${opts.output}: ${reason}`, 'output_not_writable');
      }
      // Under --json a script reads one JSON value on standard output, as every other command prints.
      if (opts.json) printJson({ written: opts.output, candidate_id: exportedCandidateId(exported), format: opts.format });
      else process.stderr.write(`wrote ${exportedCandidateId(exported)} (${opts.format}) to ${opts.output}\n`);
    }));

  addClientOptions(jobs.command('delete <jobId>'))
    .description('delete an ended job (succeeded, failed or cancelled) and everything recorded for it, for ever: its proxy URL stops answering, also when it serves a promoted program (a running or paused job: cancel it first)')
    .option('--yes', 'confirm the deletion (without it nothing is deleted)')
    .action(clientAction(async (jobId: string, opts: ClientFlags & { yes?: boolean }) => {
      const id = await jobIdOf(jobId, opts);
      // Irreversible, and an ended job's proxy URL may still serve production: never on a typo alone.
      if (!opts.yes) {
        // "Add --yes" to a job the server refuses to delete (409) only sends the user round once more:
        // say what the delete needs first. An unknown id is its 404 here already.
        const { status } = await jobsClient(opts).get(id);
        if (!isTerminalStatus(status)) {
          throw new CliError(`not deleted: job ${id} is ${status}; cancel it first (miprox jobs cancel ${id}): only an ended job can be deleted`, 'conflict');
        }
        throw new CliError(`not deleted: jobs delete removes job ${id} with every rollout, reward, proposal and candidate of it, and its proxy URL stops answering; add --yes to delete it`, 'usage_error');
      }
      const deleted = await jobsClient(opts).delete(id);
      if (opts.json) printJson(deleted);
      else out(`job ${deleted.id}: deleted\n`);
    }));

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    const what = {
      pause: 'stop exploring and proposing: the proxy serves the best candidate',
      resume: 'resume exploring and proposing',
      // A cancelled job's proxy URL serves the baseline: say so before, not after, the user throws the result away.
      cancel: 'cancel a job (final): its proxy URL then serves the baseline, not what the job learned (to end it serving its best candidate: jobs promote <jobId> best)',
    }[action];
    addClientOptions(jobs.command(`${action} <jobId>`))
      .description(what)
      .action(clientAction(async (jobId: string, opts: ClientFlags) => {
        const job = await jobsClient(opts)[action](await jobIdOf(jobId, opts));
        if (opts.json) printJson(job);
        else out(`job ${job.job_id}: ${job.status}${action === 'cancel' && job.served_candidate_id ? `, serving ${job.served_candidate_id}` : ''}\n`);
      }));
  }
}
