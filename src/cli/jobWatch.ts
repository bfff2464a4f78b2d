import cliProgress from 'cli-progress';
import { ConnectionError, type Job, JobWaitTimeoutError, type MiproJobsClient, RateLimitError, ServerError, TimeoutError } from '../sdk/index.js';
import { sleep } from '../sdk/retry.js';
import { formatBestScore, progressLine } from './jobFormat.js';
import { jsonText } from './output.js';
import { cutText, outputWidth } from './tableWidth.js';

export interface WatchOptions {
  pollMs: number;
  json: boolean;
  stream: NodeJS.WriteStream;
  /** Aborted on Ctrl-C: the watch ends quietly, the job keeps running. */
  signal: AbortSignal;
  /** Where "cannot reach the server; still watching" goes (stderr: stdout may be --json lines). */
  notices?: NodeJS.WritableStream;
}

/** Draws one job's progress; `update` is called after every poll, `finish` once at the end. */
interface Display {
  update(job: Job): void;
  finish(): void;
}

/** A bar when the job has a budget (max_rollouts counts rewarded rollouts) and a terminal to draw on. */
function barDisplay(stream: NodeJS.WriteStream, total: number): Display {
  const bar = new cliProgress.SingleBar(
    { stream, format: '{bar} {value}/{total} rewards | {info}', hideCursor: true, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(job) {
      const info = progressLine(job).split(' | ').filter((p) => !p.startsWith('rewards')).join(' | ');
      if (!started) bar.start(total, job.reward_count, { info });
      else bar.update(Math.min(job.reward_count, total), { info });
      started = true;
    },
    finish: () => bar.stop(),
  };
}

/** A status line rewritten in place on a terminal; elsewhere (pipes, logs) a new line per change. */
function lineDisplay(stream: NodeJS.WriteStream): Display {
  let last = '';
  return {
    update(job) {
      const line = progressLine(job);
      if (line === last) return;
      last = line;
      // Rewritten in place on a terminal: a line wider than it wrapped, and `\r` with erase-line clears
      // only the last row, so each update left the rows above behind. Cut to one row, its last column
      // left free (a terminal may wrap on it). Elsewhere every line is whole.
      stream.write(stream.isTTY ? `\r\x1b[2K${cutText(line, outputWidth(process.env, stream) - 1)}` : `${line}\n`);
    },
    finish: () => {
      if (stream.isTTY && last) stream.write('\n');
    },
  };
}

/** `--json`: one job document per line, whenever something changed. */
function jsonDisplay(stream: NodeJS.WriteStream): Display {
  let last = '';
  return {
    update(job) {
      const text = jsonText(job);
      if (text !== last) stream.write(`${text}\n`);
      last = text;
    },
    finish: () => undefined,
  };
}

function pickDisplay(job: Job, opts: WatchOptions): Display {
  if (opts.json) return jsonDisplay(opts.stream);
  if (opts.stream.isTTY && job.max_rollouts) return barDisplay(opts.stream, job.max_rollouts);
  return lineDisplay(opts.stream);
}

export function finalSummary(job: Job): string {
  return `job ${job.job_id} ${job.status}: best ${formatBestScore(job)} after ${job.rollout_count} rollouts, ${job.reward_count} rewards, ${job.proposal_seq} proposals`;
}

/**
 * Follows a job until it is final (returns it) or the signal aborts (returns undefined). Polls
 * through the SDK's waitForCompletion, so transient errors are retried the same way everywhere; one
 * that outlasts those retries (a 5xx, a refused connection, a timeout) is said once on `notices` and
 * the watch goes on polling. Anything else (the job deleted: 404, the key revoked: 401) ends it.
 */
export async function watchJob(client: MiproJobsClient, jobId: string, opts: WatchOptions): Promise<Job | undefined> {
  let display: Display | undefined;
  const notices = opts.notices ?? process.stderr;
  let outage: string | null = null;
  try {
    for (;;) {
      try {
        const job = await client.waitForCompletion(jobId, {
          timeoutMs: Number.POSITIVE_INFINITY,
          pollMs: opts.pollMs,
          signal: opts.signal,
          onUpdate: (j) => {
            if (outage !== null) notices.write(`miprox: the server answers again; watching job ${jobId}\n`);
            outage = null;
            display ??= pickDisplay(j, opts);
            display.update(j);
          },
        });
        display?.finish();
        return job;
      } catch (err) {
        if (opts.signal.aborted || !isPassing(err)) throw err;
        // A watch follows a job for hours: a server restarting, a database outage or a balancer with no
        // instance up for a moment ended it with the first error the SDK's retries could not outlast.
        const why = (err as Error).message;
        // On a terminal the live line has no newline yet: the notice goes below it, not onto it.
        const below = display !== undefined && opts.stream.isTTY ? '\n' : '';
        if (outage === null) notices.write(`${below}miprox: ${why.replace(/\.$/, '')} (still watching; Ctrl-C stops)\n`);
        outage = why;
        await sleep(opts.pollMs, opts.signal).catch(() => undefined);
        if (opts.signal.aborted) throw err;
      }
    }
  } catch (err) {
    display?.finish();
    if (opts.signal.aborted) return undefined;
    throw err;
  }
}

/** Failures that pass by themselves (the server or what is in front of it), unlike a 404 or a refused key. */
function isPassing(err: unknown): boolean {
  return err instanceof ServerError || err instanceof ConnectionError || err instanceof RateLimitError || (err instanceof TimeoutError && !(err instanceof JobWaitTimeoutError));
}
