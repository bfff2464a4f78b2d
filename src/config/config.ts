import { z } from 'zod';
import { ConfigError } from '../shared/errors.js';

/**
 * The server's whole configuration, parsed once from the environment in main.ts and passed down.
 * Nothing else reads process.env. Every bad variable is reported at once.
 */
const intFromEnv = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const boolFromEnv = (def: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === '1' || v === 'true' || v === 'yes');

const csv = z
  .string()
  .default('')
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x.length > 0));

const optionalUrl = z.url().optional();

export const EnvSchema = z.object({
  PORT: intFromEnv(8700, 0, 65535),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .min(1)
    .default('sqlite:./data/miprox.db')
    .refine((s) => /^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(s) || !s.includes('://'), {
      message: 'must be postgres://..., sqlite:PATH, or a file path',
    }),
  /** Postgres schema to use (tests isolate runs with it). */
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('public'),
  MIPROX_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  PUBLIC_URL: optionalUrl,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: intFromEnv(4 * 1024 * 1024, 1024, 256 * 1024 * 1024),
  /** Require an API key on proxy routes too (default: the system id is the credential). */
  PROXY_REQUIRE_KEY: boolFromEnv(false),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.url().default('https://api.openai.com/v1'),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: z.url().default('https://api.anthropic.com'),
  /** Hosts (host or host:port) that jobs may name as policy.inference_url. Private addresses need this. */
  MIPROX_ALLOWED_INFERENCE_HOSTS: csv,
  UPSTREAM_TIMEOUT_MS: intFromEnv(120_000, 100, 3_600_000),
  UPSTREAM_MAX_RETRIES: intFromEnv(2, 0, 10),
  /** Largest upstream answer relayed (bytes); a bigger one is a 502, or an error event mid-stream. */
  UPSTREAM_MAX_RESPONSE_BYTES: intFromEnv(16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  PROPOSER_TIMEOUT_MS: intFromEnv(60_000, 100, 3_600_000),
  SHUTDOWN_GRACE_MS: intFromEnv(10_000, 0, 600_000),
  /** Days to keep call inputs and outputs in rollout records (unset: forever); rewards and statistics stay. */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
});

export type AppConfig = Readonly<{
  port: number;
  host: string;
  database: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema: string };
  seedApiKey: string | undefined;
  publicUrl: string | undefined;
  logLevel: string;
  bodyLimitBytes: number;
  proxyRequireKey: boolean;
  providers: Readonly<{
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
}>;

export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  // Empty strings mean "unset" for every variable: `FOO= miprox serve` should not be an error.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ConfigError(
      `invalid configuration: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
      details,
    );
  }
  const e = parsed.data;
  const database: AppConfig['database'] = /^postgres(ql)?:\/\//.test(e.DATABASE_URL)
    ? { kind: 'postgres', url: e.DATABASE_URL, schema: e.DATABASE_SCHEMA }
    : { kind: 'sqlite', path: e.DATABASE_URL.replace(/^sqlite:(\/\/)?/, '') };
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    database,
    seedApiKey: e.MIPROX_API_KEY,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    proxyRequireKey: e.PROXY_REQUIRE_KEY,
    providers: Object.freeze({
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
  });
}
