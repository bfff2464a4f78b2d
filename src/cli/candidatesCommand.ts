import type { Command } from 'commander';
import { MiproOnlineSession, collect } from '../sdk/index.js';
import { type ClientFlags, addClientOptions, clientAction, jobsClient, positiveInt, printJson } from './clientOptions.js';
import { candidateColumns, candidateRow } from './jobFormat.js';
import { printTable } from './output.js';

interface CandidateFlags extends ClientFlags {
  status?: string;
  sort?: string;
  limit?: number;
  full?: boolean;
}

/**
 * `miprox candidates <jobId>`: every candidate instruction of a job with its statistics, and for a
 * program of several modules the module each candidate changed.
 */
export function registerCandidatesCommand(program: Command): void {
  addClientOptions(program.command('candidates <jobId>'))
    .description("list a job's candidates (also takes a session id) with rollouts, mean reward and interval")
    .option('--status <status>', 'only candidates in this status (active, retired)')
    .option('--sort <sort>', 'e.g. avg_reward:desc, created_at:asc')
    .option('--limit <n>', 'show at most n candidates', positiveInt)
    .option('--full', 'print whole instructions instead of shortening them (one candidate\'s whole program: miprox jobs export <jobId> --candidate <id>)')
    .action(clientAction(async (id: string, opts: CandidateFlags) => {
      const session = id.startsWith('pl_')
        ? await jobsClient(opts).session(id)
        : await MiproOnlineSession.connect(id, { backendUrl: opts.url, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}), maxRetries: 1 });
      const filters = { ...(opts.status ? { status: opts.status } : {}), ...(opts.sort ? { sort: opts.sort } : {}) };
      const items = await collect(session.iterateCandidates({ ...filters, limit: Math.min(opts.limit ?? 200, 200) }), opts.limit);
      if (opts.json) printJson(items);
      else printTable(items.map((c) => candidateRow(c, opts.full ? Number.POSITIVE_INFINITY : 60)), candidateColumns(items));
    }));
}
