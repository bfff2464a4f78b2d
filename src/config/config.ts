import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { readIntegerText } from '../schemas/integerText.js';
import { ConfigError } from '../shared/errors.js';
import { DEFAULT_JOB_CACHE_MAX_ROLLOUTS } from '../optimizer/runner/rolloutTally.js';
import { parseAllowEntry } from '../providers/inferenceUrlPolicy.js';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/types.js';

/**
 * The server's whole configuration, parsed once from the environment in main.ts and passed down.
 * Nothing else reads process.env. Every bad variable is reported at once.
 */
/**
 * An integer variable, in decimal digits: z.coerce.number() read PORT=0x10 as 16 and 1e3 as 1000,
 * and said "expected number, received NaN" for a word. The message names the range and quotes the value.
 */
const decimalInt = (min: number, max: number) =>
  z.string().transform((v, ctx) => {
    // The same reading as query parameters and CLI flags (integerText.ts); an env file may pad it.
    const n = readIntegerText(v.trim(), min, max);
    if (n !== undefined) return n;
    ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max} in decimal digits, got ${JSON.stringify(v)}` });
    return z.NEVER;
  });
const intFromEnv = (def: number, min: number, max: number) =>
  decimalInt(min, max).optional().transform((v) => v ?? def);

const boolFromEnv = (def: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === '1' || v === 'true' || v === 'yes');

/** A comma-separated list's items, trimmed, empty ones left out. */
const csvItems = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0);

const csv = z
  .string()
  .default('')
  .transform(csvItems);

/**
 * MIPROX_ALLOWED_INFERENCE_HOSTS, checked with the reading the SSRF policy uses (inferenceUrlPolicy.ts):
 * an entry it cannot read was skipped there without a word, so the host the operator meant to allow
 * stayed refused ("add it to MIPROX_ALLOWED_INFERENCE_HOSTS") while the server ran as if it were allowed.
 */
const allowedInferenceHosts = csv.superRefine((entries, ctx) => {
  const unread = entries.filter((entry) => parseAllowEntry(entry) === undefined);
  if (unread.length === 0) return;
  ctx.addIssue({
    code: 'custom',
    message: `cannot read ${unread.map((entry) => JSON.stringify(entry)).join(', ')}: each entry is host or host:port (gpu.internal, 10.0.0.5:8000, [::1]:8000), * for every host, or a URL`,
  });
});

/**
 * MIPROX_PROVIDERS: the providers jobs may name, each once. A list naming none (`,`) would refuse
 * every job, and an unknown name is a typo that would otherwise refuse the provider meant.
 */
const providerList = z.string().transform((v, ctx) => {
  const names = csvItems(v);
  const unknown = names.filter((n) => !(PROVIDER_KINDS as readonly string[]).includes(n));
  const problem = unknown.length > 0 ? `unknown provider ${unknown.map((n) => JSON.stringify(n)).join(', ')}: each must be one of ${PROVIDER_KINDS.join(', ')}`
    : names.length === 0 ? `must name at least one of ${PROVIDER_KINDS.join(', ')} (unset it to allow them all)`
    : null;
  if (problem !== null) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return [...new Set(names)] as ProviderKind[];
});

/**
 * PUBLIC_URL is the base every handed-out proxy URL is built on by appending `/api/...`: z.url()
 * alone took `https://m.example.com/?x=1` (URLs with the query in their middle), `http:/m.example.com`
 * (a typo, handed out as written), `ftp://...` and `https://user:pw@...` (a password in every job view).
 * An http(s) origin with an optional path prefix is all that works there; it is kept as URL parsing
 * normalised it, without a trailing slash. Messages never repeat the value (it may hold a password).
 */
const publicUrl = z.string().transform((v, ctx) => {
  let u: URL;
  try {
    u = new URL(v.trim());
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) URL such as https://miprox.example.com' });
    return z.NEVER;
  }
  const problem = u.protocol !== 'http:' && u.protocol !== 'https:' ? `must start with http:// or https://, got ${JSON.stringify(u.protocol)}`
    : !/^https?:\/\/[^/]/i.test(v.trim()) ? 'must be written scheme://host (two slashes)'
    : u.username !== '' || u.password !== '' ? 'must not carry a user name or password (it is handed out in every proxy URL)'
    : u.search !== '' || u.hash !== '' ? 'must not have a query or fragment (proxy paths are appended to it)'
    : null;
  if (problem !== null) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
});

/**
 * A provider's base URL: z.url() alone took ftp://... or mailto:..., the server started, and every
 * call of a job on that provider was a 500 (undici refuses the scheme when the first call opens its pool).
 * One message for a value that is no URL and one of another scheme. Not z.url() plus a refine: zod
 * runs the refine after z.url() refused the value, and `new URL()` threw there, so the start stopped
 * with a bare "Invalid URL" naming no variable (and none of the other bad ones).
 */
const providerBaseUrl = (def: string) =>
  z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: 'must be an http:// or https:// URL' }).default(def);

/**
 * Whether the PostgreSQL client (pg-connection-string) can read the URL: it retries an empty host
 * (`postgres://u@/db?host=/run/postgresql`) and encodes spaces first. A password holding an
 * unencoded # or / failed every start, `keys` and `migrate` with a bare 'Invalid URL' naming no setting.
 */
function postgresUrlReadable(url: string): boolean {
  const spaced = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url) ? encodeURI(url).replace(/%25(\d\d)/g, '%$1') : url;
  return [spaced, spaced.replace('@/', '@___DUMMY___/')].some((candidate) => URL.canParse(candidate, 'postgres://base'));
}

export const EnvSchema = z.object({
  PORT: intFromEnv(8700, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Unset: the SQLite file at defaultSqlitePath(), the same whatever directory miprox starts in. */
  DATABASE_URL: z
    .string()
    .min(1)
    .refine((s) => /^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(s) || !s.includes('://'), {
      message: 'must be postgres://..., sqlite:PATH, or a file path',
    })
    .refine((s) => !/^postgres(ql)?:\/\//.test(s) || postgresUrlReadable(s), {
      // Never the value: it holds the password.
      message: 'is not a URL the PostgreSQL client can read: percent-encode #, /, ? and @ in the user name and password (# as %23, / as %2F, ? as %3F, @ as %40)',
    })
    .optional(),
  /** Postgres schema to use (tests isolate runs with it). */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('public'),
  /** PostgreSQL: a query unanswered this long drops its connection (503); see queryDeadline.ts. */
  DATABASE_QUERY_TIMEOUT_MS: intFromEnv(30_000, 100, 3_600_000),
  MIPROX_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  PUBLIC_URL: publicUrl.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: intFromEnv(4 * 1024 * 1024, 1024, 256 * 1024 * 1024),
  /** Longest a client may take to send a whole request, headers and body (408 after). */
  REQUEST_TIMEOUT_MS: intFromEnv(60_000, 1000, 3_600_000),
  /** Require an API key on proxy routes too (default: the system id is the credential). */
  PROXY_REQUIRE_KEY: boolFromEnv(false),
  /** Providers jobs may name as policy.provider and mipro.proposer.provider (unset: all of them). */
  MIPROX_PROVIDERS: providerList.optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: providerBaseUrl('https://api.openai.com/v1'),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: providerBaseUrl('https://api.anthropic.com'),
  /** Hosts (host or host:port) that jobs may name as policy.inference_url. Private addresses need this. */
  MIPROX_ALLOWED_INFERENCE_HOSTS: allowedInferenceHosts,
  UPSTREAM_TIMEOUT_MS: intFromEnv(120_000, 100, 3_600_000),
  UPSTREAM_MAX_RETRIES: intFromEnv(2, 0, 10),
  /** Largest upstream answer relayed (bytes); a bigger one is a 502, or an error event mid-stream. */
  UPSTREAM_MAX_RESPONSE_BYTES: intFromEnv(16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  PROPOSER_TIMEOUT_MS: intFromEnv(60_000, 100, 3_600_000),
  SHUTDOWN_GRACE_MS: intFromEnv(10_000, 0, 600_000),
  /** Where the default database lives (~/.miprox/miprox.db). */
  HOME: z.string().optional(),
  /** Days to keep call inputs and outputs in rollout records (unset: forever); rewards and statistics stay. */
  RETENTION_DAYS: decimalInt(1, 36_500).optional(),
  /**
   * Rollouts the cached jobs of this instance remember together, at most (about 180 bytes of heap
   * each, rolloutTally.ts); past it the least recently used jobs are dropped, read again from the database when used.
   */
  JOB_CACHE_MAX_ROLLOUTS: intFromEnv(DEFAULT_JOB_CACHE_MAX_ROLLOUTS, 100, 100_000_000),
});

/**
 * The default SQLite file. It used to be ./data/miprox.db of the current directory, so `miprox keys
 * create` run from an app's folder wrote a second database that the server never read. One fixed
 * place per user makes the CLI and the server agree wherever they are started.
 */
export function defaultSqlitePath(home: string | undefined): string {
  return join(home ?? homedir(), '.miprox', 'miprox.db');
}

/** Query parameters of a database URL whose value is a secret (password, sslpassword, a token). */
const SECRET_PARAMETER = /pass|secret|token/i;

/** One line naming the database, for `serve` and `keys` to print (never a password). */
export function describeDatabase(db: AppConfig['database']): string {
  if (db.kind === 'sqlite') return `sqlite ${db.path}`;
  let where = db.url;
  try {
    const u = new URL(db.url);
    u.password = '';
    // The PostgreSQL client also takes the password as a parameter (pg-connection-string reads every
    // query parameter into its config): that one was printed whole. So was libpq's `sslpassword`
    // (the passphrase of the client's TLS key) in a URL copied from a libpq setup: every parameter
    // named like a secret is left out.
    for (const name of [...u.searchParams.keys()]) if (SECRET_PARAMETER.test(name)) u.searchParams.delete(name);
    where = u.toString();
  } catch {
    where = 'postgresql (unparsable URL)';
  }
  return `${where} (schema ${db.schema})`;
}

export type AppConfig = Readonly<{
  port: number;
  host: string;
  database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };
  databaseQueryTimeoutMs: number;
  seedApiKey: string | undefined;
  /** miprox's own directory (~/.miprox): the default database, the demo's key file. */
  dataDir: string;
  publicUrl: string | undefined;
  logLevel: string;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  proxyRequireKey: boolean;
  providers: Readonly<{
    /** MIPROX_PROVIDERS: what a new job may name; jobs created before keep theirs (upstreamGuard.ts). */
    allowedProviders: readonly ProviderKind[];
    openaiApiKey: string | undefined;
    openaiBaseUrl: string;
    anthropicApiKey: string | undefined;
    anthropicBaseUrl: string;
    allowedInferenceHosts: readonly string[];
    timeoutMs: number;
    maxRetries: number;
    maxResponseBytes: number;
    proposerTimeoutMs: number;
  }>;
  shutdownGraceMs: number;
  retentionDays: number | undefined;
  /** JOB_CACHE_MAX_ROLLOUTS: the rollouts all cached jobs may remember together (engine.ts shrinkToBudget). */
  jobCacheMaxRollouts: number;
}>;

/** A relative path is resolved once, here, so what is printed is exactly the file that is opened. */
function absolute(path: string): string {
  return path === ':memory:' || isAbsolute(path) ? path : resolve(path);
}

/** The variables that choose the database, and nothing else. */
const DatabaseEnvSchema = EnvSchema.pick({ DATABASE_URL: true, DATABASE_SCHEMA: true, HOME: true });

/** `schema` read from `env`, every problem in one ConfigError. */
function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  // Empty strings mean "unset" for every variable: `FOO= miprox serve` should not be an error.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ConfigError(
      `invalid configuration: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
      details,
    );
  }
  return parsed.data;
}

function databaseOf(e: z.output<typeof DatabaseEnvSchema>): AppConfig['database'] {
  const url = e.DATABASE_URL;
  return url === undefined
    ? { kind: 'sqlite', path: defaultSqlitePath(e.HOME) }
    : /^postgres(ql)?:\/\//.test(url)
      ? { kind: 'postgres', url, schema: e.DATABASE_SCHEMA }
      : { kind: 'sqlite', path: absolute(url.replace(/^sqlite:(\/\/)?/, '')) };
}

/**
 * The database alone, for commands that only open it (`keys`, `migrate`): a bad PORT or
 * RETENTION_DAYS in the server's environment file made them fail although they read neither.
 * A bad DATABASE_URL or DATABASE_SCHEMA is still an error, as in loadConfig.
 */
export function loadDatabaseConfig(env: Record<string, string | undefined>): Pick<AppConfig, 'database'> {
  return Object.freeze({ database: databaseOf(parseEnv(DatabaseEnvSchema, env)) });
}

export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const e = parseEnv(EnvSchema, env);
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    database: databaseOf(e),
    databaseQueryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
    seedApiKey: e.MIPROX_API_KEY,
    dataDir: dirname(defaultSqlitePath(e.HOME)),
    publicUrl: e.PUBLIC_URL,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    proxyRequireKey: e.PROXY_REQUIRE_KEY,
    providers: Object.freeze({
      allowedProviders: Object.freeze([...(e.MIPROX_PROVIDERS ?? PROVIDER_KINDS)]),
      openaiApiKey: e.OPENAI_API_KEY,
      openaiBaseUrl: e.OPENAI_BASE_URL.replace(/\/+$/, ''),
      anthropicApiKey: e.ANTHROPIC_API_KEY,
      anthropicBaseUrl: e.ANTHROPIC_BASE_URL.replace(/\/+$/, ''),
      allowedInferenceHosts: Object.freeze([...e.MIPROX_ALLOWED_INFERENCE_HOSTS]),
      timeoutMs: e.UPSTREAM_TIMEOUT_MS,
      maxRetries: e.UPSTREAM_MAX_RETRIES,
      maxResponseBytes: e.UPSTREAM_MAX_RESPONSE_BYTES,
      proposerTimeoutMs: e.PROPOSER_TIMEOUT_MS,
    }),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    retentionDays: e.RETENTION_DAYS,
    jobCacheMaxRollouts: e.JOB_CACHE_MAX_ROLLOUTS,
  });
}
