import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  AuthenticationError, ConnectionError, DEFAULT_BASE_URL, MiproJobsClient, MiproOnlineSession, MiproxError, NotFoundError, TimeoutError, normalizeBaseUrl,
} from '../sdk/index.js';
import { MAX_INT4 } from '../schemas/dbText.js';
import { readIntegerText } from '../schemas/integerText.js';
import { CliError } from './cliError.js';
import { jsonText } from './output.js';

/**
 * The options every client-side command shares (`--url`, `--api-key`, `--json`) and the one place
 * where the CLI takes defaults from the environment: commander reads MIPROX_BASE_URL and
 * MIPROX_API_KEY for these options; no other CLI code looks at process.env for them.
 */
export interface ClientFlags {
  url: string;
  apiKey?: string;
  json?: boolean;
}

export function addClientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'miprox server URL (http:// is assumed without a scheme)').env('MIPROX_BASE_URL').default(DEFAULT_BASE_URL).argParser(serverUrl))
    .addOption(new Option('--api-key <key>', 'API key (sent as Authorization: Bearer)').env('MIPROX_API_KEY'))
    .option('--json', 'machine-readable output')
    .hook('preAction', (_cmd, action) => refuseEmptyApiKey(action));
}

/**
 * `--api-key ""` (a shell variable that was empty) was taken as no key, and the SDK then used
 * MIPROX_API_KEY: the command ran as whoever that key belongs to, `jobs delete` included. An empty
 * MIPROX_API_KEY alone still means no key, as before.
 */
function refuseEmptyApiKey(cmd: Command): void {
  if (cmd.getOptionValueSource('apiKey') === 'cli' && cmd.opts<ClientFlags>().apiKey === '') {
    throw new CliError('--api-key is empty: pass the key, or leave the option out to use MIPROX_API_KEY', 'usage_error');
  }
}

export function jobsClient(flags: ClientFlags): MiproJobsClient {
  return new MiproJobsClient({
    backendUrl: flags.url,
    ...(flags.apiKey ? { apiKey: flags.apiKey } : {}),
    // A person is waiting: one quick retry, then say what is wrong.
    maxRetries: 1,
    timeoutMs: 15_000,
  });
}

/** A job id (pl_...) or a session (system) id: every command that names a job takes either. */
export async function sessionOf(id: string, opts: ClientFlags): Promise<MiproOnlineSession> {
  return id.startsWith('pl_')
    ? jobsClient(opts).session(id)
    : MiproOnlineSession.connect(id, { backendUrl: opts.url, ...(opts.apiKey ? { apiKey: opts.apiKey } : {}), maxRetries: 1 });
}

/** The job id behind `id` (a job id is returned as it is, without a request). */
export async function jobIdOf(id: string, opts: ClientFlags): Promise<string> {
  return id.startsWith('pl_') ? id : (await sessionOf(id, opts)).jobId;
}

/** Turns an SDK error into the one line a person needs; the caller prints it and exits 1. */
export function describeClientError(err: unknown, flags: ClientFlags): string {
  if (err instanceof ConnectionError) {
    return `cannot reach miprox at ${flags.url}: ${err.message.replace(/^cannot reach \S+: /, '')}. Is the server running? Set --url or MIPROX_BASE_URL.`;
  }
  if (err instanceof AuthenticationError) {
    return flags.apiKey
      ? `the API key was refused (401): ${err.message}. Check --api-key or MIPROX_API_KEY.`
      : 'no API key given (401): pass --api-key or set MIPROX_API_KEY.';
  }
  if (err instanceof TimeoutError) return `miprox at ${flags.url} did not answer in time: ${err.message}`;
  if (err instanceof NotFoundError) return `not found (404): ${err.message}`;
  if (err instanceof MiproxError) {
    const details = err.details.map((d) => `${d.path || 'body'}: ${d.message}`).join('; ');
    return `${err.serverMessage}${err.status ? ` (${err.status} ${err.code})` : ''}${details ? ` — ${details}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Wraps a command action so SDK errors end as one line for people, keeping status, code and details
 * for --json (main.ts prints it, exit code 1).
 */
export function clientAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof CliError) throw err; // already said for people and scripts
      const cmd = args[args.length - 1] as Command;
      const message = describeClientError(err, cmd.opts<ClientFlags>());
      if (!(err instanceof MiproxError)) throw new CliError(message, 'error');
      throw new CliError(message, err.code, {
        ...(err.status !== undefined ? { status: err.status } : {}),
        details: err.details,
        ...(err.requestId !== undefined ? { requestId: err.requestId } : {}),
      });
    }
  };
}

/**
 * `--url 127.0.0.1:8700` is what people type: the SDK assumes http:// and this checks the rest. An
 * empty value (`MIPROX_BASE_URL=` in an env file) is the default, as the SDK reads it.
 */
export function serverUrl(value: string): string {
  if (value.trim() === '') return DEFAULT_BASE_URL;
  const url = normalizeBaseUrl(value);
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a server URL (e.g. http://127.0.0.1:8700)`);
  }
  return url;
}

/**
 * A commander argument parser for `--port` (serve, demo): decimal digits, 0 to 65535 (0: any free
 * port). Without it a bad value reached the environment check, whose message named PORT, not the flag.
 */
export function portNumber(value: string): string {
  const n = readIntegerText(value, 0, 65535);
  if (n === undefined) throw new InvalidArgumentError('must be a port number from 0 to 65535 in decimal digits (0: any free port)');
  return String(n);
}

/**
 * A commander argument parser for counts and intervals, in decimal digits as the server's integer
 * variables and query parameters take them (`Number()` read `--limit 1e3` as 1000 and `--interval
 * 0x10` as 16). At most 2^31 - 1: a longer `--interval` overflows the timer, which then fires at once.
 */
export function positiveInt(value: string): number {
  const n = readIntegerText(value, 1, MAX_INT4);
  if (n === undefined) throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_INT4} in decimal digits`);
  return n;
}

/** Writes JSON for scripts, one value per line. */
export function printJson(value: unknown, out: (s: string) => void = (s) => process.stdout.write(s)): void {
  out(`${jsonText(value)}\n`);
}
