import type { z } from 'zod';
import { serializeBody } from './body.js';
import { checkBaseUrl } from './baseUrlCheck.js';
import { checkSendableHeaders } from './headerCheck.js';
import { requestSignal } from './requestSignal.js';
import { AuthenticationError, ConnectionError, MiproxError, ResponseFormatError, TimeoutError, errorFromResponse } from './errors.js';
import { type ResolvedClientOptions, printSafeOptions } from './options.js';
import { parseRetryAfterMs, retryDelayMs, sleep } from './retry.js';

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestSpec<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path under the base URL, starting with `/api/`. Callers encode path segments (see `seg`). */
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** The answer's wire schema; a body that does not match is a ResponseFormatError. */
  schema: S;
  /** May the request be repeated after the server saw it? Default: only GET. */
  idempotent?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Encodes one path segment, so ids can never change the route. */
export const seg = (value: string): string => encodeURIComponent(value);

const USER_AGENT = 'miprox-sdk-ts/0.1';
/** Error codes meaning the connection was never made, so the server cannot have seen the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** The SDK's one HTTP path: auth headers, per-request timeout, typed errors, retries, schema check. */
export class HttpClient {
  /** The options in use; printing them (or the client, or a session holding it) never shows the API key. */
  readonly options: ResolvedClientOptions;

  constructor(options: ResolvedClientOptions) {
    this.options = printSafeOptions(options);
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  async request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.infer<S>> {
    const idempotent = spec.idempotent ?? spec.method === 'GET';
    const policy = {
      maxRetries: this.options.maxRetries,
      baseDelayMs: this.options.retryBaseDelayMs,
      maxDelayMs: this.options.retryMaxDelayMs,
    };
    // Checked once, before any attempt: a header or body that cannot be sent is the caller's error, not a network one.
    checkBaseUrl(this.options.baseUrl);
    checkSendableHeaders(this.options.apiKey, this.options.headers);
    const bodyText = spec.body === undefined ? undefined : serializeBody(spec.body);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(spec, bodyText);
      } catch (err) {
        const delay = retryDelayMs(err, attempt, idempotent, policy);
        if (delay === null) throw err;
        await sleep(delay, spec.signal);
      }
    }
  }

  url(path: string, query: Record<string, QueryValue> = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
    const qs = params.toString();
    return `${this.options.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  private headers(hasBody: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT, ...this.options.headers };
    if (this.options.apiKey) h.authorization = `Bearer ${this.options.apiKey}`;
    if (hasBody) h['content-type'] = 'application/json';
    return h;
  }

  private async once<S extends z.ZodType>(spec: RequestSpec<S>, bodyText: string | undefined): Promise<z.infer<S>> {
    const url = this.url(spec.path, spec.query);
    const timeoutMs = spec.timeoutMs ?? this.options.timeoutMs;
    const abort = requestSignal(timeoutMs, spec.signal);
    const hasBody = bodyText !== undefined;
    let status: number;
    let headers: Headers;
    let text: string;
    try {
      const res = await this.options.fetch(url, {
        method: spec.method,
        headers: this.headers(hasBody),
        ...(hasBody ? { body: bodyText } : {}),
        signal: abort.signal,
      });
      status = res.status;
      headers = res.headers;
      text = await res.text();
    } catch (err) {
      if (spec.signal?.aborted) throw spec.signal.reason;
      throw transportError(err, spec.method, url, abort.timedOut ? timeoutMs : undefined);
    } finally {
      abort.dispose();
    }
    if (status < 200 || status >= 300) throw this.withKeyHint(errorFromResponse(status, text, headers, parseRetryAfterMs(headers)));
    return parseBody(spec, url, status, text, headers);
  }

  /**
   * A 401 when the client has no key at all: the server's "send Authorization: Bearer <key>" is not
   * something an SDK user does, so say where the SDK takes its key from (a second terminal without
   * the README's `export MIPROX_API_KEY=...` is the usual cause).
   */
  private withKeyHint(err: MiproxError): MiproxError {
    const sendsKey = this.options.apiKey !== undefined
      || Object.keys(this.options.headers).some((h) => ['authorization', 'x-api-key'].includes(h.toLowerCase()));
    if (err.status !== 401 || sendsKey) return err;
    return new AuthenticationError(`no API key: pass apiKey to the client or set MIPROX_API_KEY (the server said: ${err.serverMessage})`, {
      status: 401, code: err.code, details: err.details, ...(err.requestId ? { requestId: err.requestId } : {}),
    });
  }
}

function parseBody<S extends z.ZodType>(spec: RequestSpec<S>, url: string, status: number, text: string, headers: Headers): z.infer<S> {
  const requestId = headers.get('x-request-id') ?? undefined;
  const init = { status, code: 'bad_response', ...(requestId ? { requestId } : {}) };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // An HTML page is what a wrong backendUrl gets: a path under the dashboard's page fallback, or another web server.
    const page = /^\s*</.test(text) || (headers.get('content-type') ?? '').includes('text/html');
    const hint = page ? ' (an HTML page: is backendUrl the miprox server\'s origin, with no path the server does not serve?)' : '';
    throw new ResponseFormatError(`${spec.method} ${url} answered ${status} with a body that is not JSON${hint}: ${text.slice(0, 120)}`, init);
  }
  const parsed = spec.schema.safeParse(json);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    const first = details[0];
    throw new ResponseFormatError(
      `${spec.method} ${url} answered JSON the SDK does not understand${first ? ` (${first.path || 'body'}: ${first.message})` : ''}; is the server a matching miprox version?`,
      { ...init, details },
    );
  }
  return parsed.data;
}

function causeCode(err: unknown): string | undefined {
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string') return cause.code;
  return undefined;
}

function transportError(err: unknown, method: string, url: string, timedOutAfterMs: number | undefined): MiproxError {
  if (err instanceof MiproxError) return err;
  const target = new URL(url).origin;
  if (timedOutAfterMs !== undefined) {
    return new TimeoutError(`${method} ${url} timed out after ${timedOutAfterMs} ms`, { code: 'timeout', cause: err });
  }
  const code = causeCode(err);
  const reason = code ?? (err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));
  return new ConnectionError(`cannot reach ${target}: ${reason}`, {
    url: target,
    requestSent: code === undefined || !NOT_SENT_CODES.has(code),
    cause: err,
  });
}
