import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Command, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { generateApiKey, hashApiKey } from '../api/auth.js';
import { type AppConfig, loadConfig } from '../config/config.js';
import { type DemoModelChoice, SIM_MODELS } from '../demo/demoJob.js';
import type { DemoProgress, DemoResult } from '../demo/runDemo.js';
import type { RunningServer } from '../main.js';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/types.js';
import { ConfigError } from '../shared/errors.js';
import { CliError } from './cliError.js';
import { portNumber, positiveInt } from './clientOptions.js';
import { databaseOpenError } from './databaseOpenError.js';
import { jsonText, terminalSafe } from './output.js';
import { PRIVATE_MODE, writePrivateFile } from './privateFile.js';

interface DemoFlags {
  provider: string;
  model?: string;
  proposerModel?: string;
  inferenceUrl?: string;
  rollouts: number;
  concurrency: number;
  port?: string;
  keepServing?: boolean;
  json?: boolean;
}

/**
 * `miprox demo`: the README's main command. Starts a server on the embedded SQLite default, runs the
 * online loop on the simulated banking task exactly as a user would, and prints the result. With
 * `--provider openai --model gpt-4o-mini` (and OPENAI_API_KEY) the same loop runs on the real API.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run MIPRO Online end to end on a built-in task (offline simulator by default)')
    .addOption(new Option('--provider <provider>', 'policy and proposer provider').choices(PROVIDER_KINDS).default('sim'))
    .option('--model <model>', 'policy model (default: sim-policy for sim)')
    .option('--proposer-model <model>', 'proposer model (default: the policy model; sim-proposer for sim)')
    .option('--inference-url <url>', 'base URL for --provider openai_compatible')
    // Checked as they are parsed: a bad count is a usage error before a server starts or a key is made.
    .option('--rollouts <n>', 'online rollouts to run', positiveInt, 600)
    .option('--concurrency <n>', 'rollouts in flight at once', positiveInt, 4)
    .option('-p, --port <port>', 'server port (default PORT or 8700; a free port if taken)', portNumber)
    .option('--keep-serving', 'keep the server (and dashboard) running after the demo')
    .option('--json', 'print the result as JSON')
    .action(async (flags: DemoFlags) => {
      const models = modelsFrom(flags);
      // Loaded on use: client commands should not pay for the server's start-up.
      const [{ runDemo }, { createBankingTask }] = await Promise.all([import('../demo/runDemo.js'), import('../providers/sim/index.js')]);
      const config = loadConfig({ ...process.env, ...(flags.port ? { PORT: flags.port } : {}), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
      refuseDisallowedProvider(config, models.provider);
      const server = await startOnFreePort(config);
      try {
        const apiKey = config.seedApiKey ?? (await demoKey(server, config));
        const task = createBankingTask();
        const rollouts = flags.rollouts;
        const say = (s: string) => { if (!flags.json) process.stdout.write(s); };
        say(`miprox demo: ${models.provider === 'sim' ? 'simulated banking intent task (offline simulator, no API key needed)' : `banking intent task on ${models.provider}/${models.model}`}\n`);
        say(`server ${server.url}, ${rollouts} rollouts, proposer ${models.proposerModel}\n\n`);
        const progress = progressPrinter(Boolean(flags.json));
        const result = await runDemo({
          backendUrl: server.url, apiKey, task, models, rollouts,
          concurrency: flags.concurrency, maxCandidates: 12, maxConfirmationRollouts: 300,
          onProgress: progress.update,
        });
        progress.stop();
        if (flags.json) process.stdout.write(`${jsonText(summaryJson(result, server.url), 2)}\n`);
        else printSummary(result, server.url, config.seedApiKey ? 'your MIPROX_API_KEY' : `the demo key: ${apiKey}`, Boolean(flags.keepServing), dashboardHint(config, flags.port));
        if (flags.keepServing) {
          say(`\nserving on ${server.url} until Ctrl-C\n`);
          await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        }
      } finally {
        await server.close();
      }
    });
}

/** The demo's policy and proposer models from its flags (exported for tests). */
export function modelsFrom(flags: Pick<DemoFlags, 'provider' | 'model' | 'proposerModel' | 'inferenceUrl'>): DemoModelChoice {
  const provider = flags.provider as ProviderKind; // one of PROVIDER_KINDS: commander checked the choice
  if (provider === 'sim') {
    // The simulator picks policy or proposer by model name (sim-proposer-v2 is a proposer), so both are honoured.
    return { ...SIM_MODELS, ...(flags.model ? { model: flags.model } : {}), ...(flags.proposerModel ? { proposerModel: flags.proposerModel } : {}) };
  }
  if (!flags.model) throw new CliError(`--model is required with --provider ${provider} (e.g. --model gpt-4o-mini)`, 'usage_error');
  if (provider === 'openai_compatible' && !flags.inferenceUrl) throw new CliError('--inference-url is required with --provider openai_compatible', 'usage_error');
  return { provider, model: flags.model, proposerModel: flags.proposerModel ?? flags.model, inferenceUrl: flags.inferenceUrl };
}

/**
 * The demo's server is the operator's (same environment, same database; --keep-serving serves it on),
 * so it keeps MIPROX_PROVIDERS: a demo on a provider it leaves out says so before anything starts,
 * rather than failing on its job's 422 after a server and a demo key were made.
 */
export function refuseDisallowedProvider(config: AppConfig, provider: ProviderKind): void {
  const allowed = config.providers.allowedProviders;
  if (allowed.includes(provider)) return;
  const message = `provider "${provider}" is not allowed by MIPROX_PROVIDERS (${allowed.join(', ')}): run the demo with it unset (MIPROX_PROVIDERS= miprox demo) or with an allowed --provider`;
  throw new ConfigError(message, [{ path: 'MIPROX_PROVIDERS', message }]);
}

async function startOnFreePort(config: ReturnType<typeof loadConfig>): Promise<RunningServer> {
  const { createLogger, startServer } = await import('../main.js');
  const logger = createLogger(config, 2); // stdout is the demo's own output (and JSON with --json)
  try {
    return await startServer(config, { logger });
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE') throw databaseOpenError(err, config.database) ?? err;
    return startServer({ ...config, port: 0 }, { logger });
  }
}

/**
 * The demo's key: one per database, reused on every run (five runs used to leave five `demo` keys).
 * Only hashes are stored, so the key itself is kept in a file (mode 0600) beside the SQLite database,
 * or in miprox's directory for PostgreSQL; a missing or revoked one is replaced.
 */
async function demoKey(server: RunningServer, config: AppConfig): Promise<string> {
  const file = demoKeyFile(config);
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!key || !(await server.store.findActiveApiKey(hashApiKey(key)))) {
    const made = generateApiKey();
    await server.store.createTenantWithKey({ name: 'demo', keyHash: hashApiKey(made.key), prefix: made.prefix });
    mkdirSync(dirname(file), { recursive: true });
    writePrivateFile(file, `${made.key}\n`);
    key = made.key;
  }
  // A kept file left readable by others (an older release, or made by hand) is made the owner's
  // alone too, as the key in it is.
  chmodSync(file, PRIVATE_MODE);
  return key;
}

function demoKeyFile(config: AppConfig): string {
  const db = config.database;
  if (db.kind === 'sqlite' && db.path !== ':memory:') return `${db.path}.demo-key`;
  const where = db.kind === 'postgres' ? `${db.url}#${db.schema}` : 'memory';
  return join(config.dataDir, `demo-key-${createHash('sha256').update(where).digest('hex').slice(0, 12)}`);
}

function progressPrinter(quiet: boolean) {
  const tty = process.stdout.isTTY && !quiet;
  let bar: SingleBar | null = null;
  let phase: DemoProgress['phase'] | null = null;
  let lastLine = -1;
  const fmt = (p: DemoProgress) => ({
    acc: p.recentAccuracy === null ? '  -  ' : p.recentAccuracy.toFixed(2),
    cands: p.candidates, props: p.proposals, best: p.bestScore === null ? '-' : p.bestScore.toFixed(2),
  });
  return {
    update(p: DemoProgress) {
      if (quiet) return;
      if (!tty) {
        const step = Math.floor(p.done / 100);
        if (p.phase !== phase || step !== lastLine || p.done === p.total) {
          const f = fmt(p);
          if (step !== lastLine || p.done === p.total) process.stdout.write(`${p.phase} ${p.done}/${p.total}  accuracy(last 50) ${f.acc}  candidates ${f.cands}  proposals ${f.props}  best ${f.best}\n`);
          lastLine = step;
          phase = p.phase;
        }
        return;
      }
      if (p.phase !== phase) {
        bar?.stop();
        bar = new SingleBar({
          format: `${p.phase === 'optimizing' ? 'optimizing' : 'confirming on val'} {bar} {value}/{total} | accuracy(last 50) {acc} | candidates {cands} | proposals {props} | best {best}`,
          hideCursor: true,
        });
        bar.start(p.total, 0, fmt(p));
        phase = p.phase;
      }
      bar?.update(p.done, fmt(p));
    },
    stop() {
      bar?.stop();
    },
  };
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const ci = (c: [number, number] | null) => (c ? `[${pct(c[0])}, ${pct(c[1])}]` : '');

/**
 * The closing hint: the command that serves this database with the same environment, and where it will
 * listen. `npx miprox serve`, not `npm start`: that script is the checkout's only (in a project that
 * installed miprox it runs the project's own app), and it would not carry the demo's --port.
 */
export function dashboardHint(config: AppConfig, portFlag: string | undefined): string {
  return `run \`npx miprox serve${portFlag === undefined ? '' : ` --port ${portFlag}`}\` (same database) and open ${serveUrl(config)}`;
}

/** Where `miprox serve` with the same environment (and --port) will listen: the dashboard the hint names. */
function serveUrl(config: AppConfig): string {
  if (config.port === 0 && !config.publicUrl) return 'the URL it prints';
  if (config.publicUrl) return `${config.publicUrl.replace(/\/+$/, '')}/`;
  // A wildcard address is not one a browser can open; this machine's loopback reaches it.
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/`;
}

/**
 * `signIn`: which key opens the dashboard. A key from MIPROX_API_KEY is named, never printed (the person set it; logs must not hold it).
 * `serveHint`: dashboardHint's line, printed when the demo does not keep serving.
 * Written through terminalSafe: the instructions are the proposer model's text. `sink`: standard output (tests pass their own).
 */
export function printSummary(r: DemoResult, url: string, signIn: string, keepServing: boolean, serveHint: string, sink: (s: string) => void = (s) => process.stdout.write(s)): void {
  const out = (s: string) => sink(terminalSafe(s));
  out(`\nDone: job ${r.jobId} ${r.status.status}: ${r.rollouts} rollouts, ${r.candidates.length} candidates, ${r.status.proposal_seq} proposals.\n\n`);
  if (r.baseline) out(`Baseline (held-out val seeds): ${pct(r.baseline.valScore)} ${ci(r.baseline.valCi)} n=${r.baseline.valCount}\n  "${r.baseline.instruction}"\n\n`);
  if (r.best && r.best.candidateId !== 'baseline') {
    out(`Best prompt ${r.best.candidateId} (held-out val seeds): ${pct(r.best.valScore)} ${ci(r.best.valCi)} n=${r.best.valCount}; online ${pct(r.best.onlineScore)} n=${r.best.onlineCount}\n`);
    const lift = r.status.lift_over_baseline as { estimate?: number; ci?: [number, number]; significant?: boolean } | null | undefined;
    if (lift?.estimate !== undefined && lift.ci) out(`Lift over baseline: ${lift.estimate >= 0 ? '+' : ''}${pct(lift.estimate)} ${ci(lift.ci)}${lift.significant ? ' (significant)' : ''}\n`);
    out(`\n${r.best.instruction.split('\n').map((l) => `  ${l}`).join('\n')}\n`);
  } else {
    out('The baseline is still the best prompt.\n');
  }
  if (keepServing) out(`\nDashboard: ${url}/  (job ${r.jobId})\n`);
  else out(`\nDashboard: ${serveHint} (job ${r.jobId}), or rerun with --keep-serving\n`);
  out(`Sign in with ${signIn}\n`);
}

function summaryJson(r: DemoResult, url: string) {
  return {
    job_id: r.jobId, session_id: r.sessionId, rollouts: r.rollouts, rewards: r.status.reward_count, status: r.status.status,
    proposals: r.status.proposal_seq, candidates: r.candidates.length,
    best: r.best, baseline: r.baseline, lift_over_baseline: r.status.lift_over_baseline ?? null,
    best_score: r.status.best_score, best_score_ci: r.status.best_score_ci, best_score_source: r.status.best_score_source,
    dashboard_url: `${url}/`,
  };
}
