/**
 * Client options and their defaults. The SDK is a client library, so — like public API clients — it
 * falls back to two environment variables when the caller does not pass a value:
 *   MIPROX_BASE_URL  the server's origin (default http://127.0.0.1:8700)
 *   MIPROX_API_KEY   the API key sent as `Authorization: Bearer <key>`
 * This function is the only place in src/sdk that reads the environment.
 */

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8700';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** Server origin; a trailing `/api`, `/v1` or `/api/v1` is stripped (default MIPROX_BASE_URL, then 127.0.0.1:8700). */
  backendUrl?: string;
  /** API key (default MIPROX_API_KEY). */
  apiKey?: string;
  /** Per-request timeout in ms (default 30 000; `Infinity`: no limit). */
  timeoutMs?: number;
  /** Retries of idempotent requests on 429, 5xx, timeouts and connection errors (default 2). */
  maxRetries?: number;
  /** First backoff delay in ms; doubles per attempt, with full jitter (default 250). */
  retryBaseDelayMs?: number;
  /**
   * Upper bound of one backoff delay (default 8 000). A server's retry-after is not bounded by it: it
   * is waited for as said up to 60 s (MAX_RETRY_AFTER_MS); a longer one is not retried.
   */
  retryMaxDelayMs?: number;
  /** Replaces the global fetch (tests, proxies, instrumentation). */
  fetch?: FetchLike;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

export interface ResolvedClientOptions {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  fetch: FetchLike;
  headers: Record<string, string>;
}

type Env = Record<string, string | undefined>;

/**
 * Strips what public clients strip: trailing slashes, then `/v1` (or `/v2`), then `/api`. A URL
 * without a scheme (`127.0.0.1:8700`, as people type it) gets `http://`.
 */
export function normalizeBaseUrl(url: string): string {
  let u = url.trim().replace(/\/+$/, '');
  if (u !== '' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(u)) u = `http://${u}`;
  u = u.replace(/\/v[12]$/, '').replace(/\/+$/, '');
  u = u.replace(/\/api$/, '').replace(/\/+$/, '');
  return u;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

/** What a printed client shows instead of its API key (and of any header that carries a credential). */
export const REDACTED = '[redacted]';
/** Header names whose values are credentials: never shown when options are printed or serialized. */
const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'proxy-authorization', 'cookie']);

/** The options as `console.log`, `util.inspect` and `JSON.stringify` show them: every credential replaced. */
export function redactedOptions(options: ResolvedClientOptions): Record<string, unknown> {
  const { fetch: _fetch, ...rest } = options;
  const headers = Object.fromEntries(Object.entries(options.headers).map(([k, v]) => [k, SECRET_HEADERS.has(k.toLowerCase()) ? REDACTED : v]));
  return { ...rest, apiKey: options.apiKey === undefined ? undefined : REDACTED, headers };
}

/**
 * A copy of `options` that prints without its credentials. A client is logged whole in real apps
 * (`console.log(session)`, a logger serializing the object that failed, `JSON.stringify` into an
 * error report), and the options object sits inside every client: printed as it is, it showed the
 * API key in plain text. The two hooks are non-enumerable, so `{...options}` stays a plain copy
 * and `options.apiKey` still reads the key.
 */
export function printSafeOptions(options: ResolvedClientOptions): ResolvedClientOptions {
  const copy = { ...options, headers: { ...options.headers } };
  const view = () => redactedOptions(copy);
  Object.defineProperty(copy, 'toJSON', { value: view, enumerable: false });
  // Node's util.inspect hook, by its registered symbol (no node:util import needed).
  Object.defineProperty(copy, Symbol.for('nodejs.util.inspect.custom'), {
    value: (depth: number, inspectOptions: object, inspect: (v: unknown, o: object) => string) => inspect(view(), { ...inspectOptions, depth }),
    enumerable: false,
  });
  return copy;
}

export function resolveClientOptions(opts: ClientOptions = {}, env: Env = process.env): ResolvedClientOptions {
  return {
    baseUrl: normalizeBaseUrl(nonEmpty(opts.backendUrl) ?? nonEmpty(env.MIPROX_BASE_URL) ?? DEFAULT_BASE_URL),
    apiKey: nonEmpty(opts.apiKey) ?? nonEmpty(env.MIPROX_API_KEY),
    timeoutMs: opts.timeoutMs ?? 30_000,
    maxRetries: opts.maxRetries ?? 2,
    retryBaseDelayMs: opts.retryBaseDelayMs ?? 250,
    retryMaxDelayMs: opts.retryMaxDelayMs ?? 8_000,
    fetch: opts.fetch ?? ((input, init) => fetch(input, init)),
    headers: { ...opts.headers },
  };
}
