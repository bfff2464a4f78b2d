import { performance } from 'node:perf_hooks';
import type { LookupFunction } from 'node:net';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { CancelSignal } from './cancelSignal.js';
import { UpstreamError, type UpstreamApi } from '../shared/errors.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { mathRandomRng, type Rng } from '../shared/rng.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import { redact, redactingChunks } from './secretRedaction.js';
import { SseParser, type SseEvent } from './sseParser.js';
import { WAIT, type StreamStartCheck, type StreamStartError } from './streamStartError.js';
import {
  DEFAULT_RETRY_TUNING,
  abortableSleep,
  backoffDelayMs,
  firstHeaderValue,
  isRetryableStatus,
  parseRetryAfterMs,
  shouldRetryHint,
  type RetryTuning,
  type SleepFn,
} from './retryPolicy.js';
import {
  CLIENT_CLOSED_STATUS,
  errorFromException,
  errorFromStatus,
  isRetryableException,
  parseErrorBody,
  type ErrorContext,
} from './upstreamErrors.js';

/**
 * The HTTP leg every HTTP provider shares: one keep-alive undici Pool per upstream origin, JSON POSTs
 * with a deadline, retries (429/5xx/connection errors, only before a 2xx answer started), and
 * error mapping. Providers only build bodies and translate formats.
 */
export interface TransportOptions {
  /** e.g. `https://api.openai.com/v1`; paths are appended to its path. */
  baseUrl: string;
  /** Used in error messages and logs; must not contain secrets. */
  upstreamName: string;
  /** Whose error types the upstream answers with: kept on its errors, for the surfaces that relay them. */
  upstreamApi: UpstreamApi;
  /** Deadline for the answer to start (all attempts and waits), and the max silence within a body. */
  timeoutMs: number;
  maxRetries: number;
  /** Strings scrubbed from every error message (the API key). */
  secrets?: readonly string[];
  retry?: Partial<RetryTuning>;
  sleep?: SleepFn;
  rng?: Rng;
  /** The wall clock a retry-after HTTP date is read against (deadlines are on the monotonic clock). */
  clock?: Clock;
  logger?: Logger;
  /** Cap on sockets to the origin; undefined lets undici open as many as there are concurrent calls. */
  connections?: number;
  /**
   * Cap on a 2xx body in bytes (UPSTREAM_MAX_RESPONSE_BYTES); undefined: none. Without it a hostile or
   * broken upstream's 400 MB answer was buffered, relayed and stored whole.
   */
  maxResponseBytes?: number;
  /** Name resolution for the sockets (a job's inference_url: guardedLookup.ts); node's by default. */
  lookup?: LookupFunction;
}

export interface PostRequest {
  /** Appended to the base URL's path, e.g. `/chat/completions`. */
  path: string;
  headers: Record<string, string>;
  body: string;
  signal?: CancelSignal | undefined;
  timeoutMs?: number | undefined;
  /**
   * A streaming request: how the upstream's protocol says "error" at the start of a stream. A 2xx event
   * stream that begins with such an error (its first event, or after the opening events only) is
   * treated as the status the provider gives that error (retried or thrown as that status would be),
   * since nothing of the answer has gone out yet (streamStartError.ts).
   */
  streamStart?: StreamStartCheck | undefined;
}

/** A 2xx answer whose body has not been read yet. */
export interface OkResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  attempts: number;
  timeoutMs: number;
  signal: CancelSignal | undefined;
  /** What was read of the body to check the stream's start (PostRequest.streamStart): relayed first. */
  head?: StreamHead;
}

/** The start of a stream's body, read before `post` returned; `relay` goes on from where it stopped. */
interface StreamHead {
  bytes: Buffer[];
  /** The body's iterator, which the relay reads on. */
  rest: AsyncIterator<unknown>;
  /** A failure met while reading them (a cut, a silence): thrown after the bytes, where the relay would have met it. */
  error: unknown;
}

/** Error bodies are only read for their message; a hostile upstream must not make us buffer megabytes. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** Opening events (streamStartError.ts WAIT) read past before a stream is handed on: providers send two or three. */
const MAX_OPENING_EVENTS = 8;

export class UpstreamTransport {
  private readonly pool: Pool;
  private readonly pathPrefix: string;
  private readonly pathSuffix: string;
  private readonly ctx: ErrorContext;
  private readonly tuning: RetryTuning;
  private readonly sleep: SleepFn;
  private readonly rng: Rng;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly opts: TransportOptions) {
    const url = new URL(opts.baseUrl);
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.pathSuffix = url.search;
    this.pool = new Pool(url.origin, {
      connections: opts.connections ?? null,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      connectTimeout: Math.min(10_000, opts.timeoutMs),
      ...(opts.lookup !== undefined ? { connect: { lookup: opts.lookup } } : {}),
    });
    this.ctx = { upstreamName: opts.upstreamName, upstreamApi: opts.upstreamApi, secrets: opts.secrets ?? [] };
    this.tuning = { ...DEFAULT_RETRY_TUNING, ...opts.retry };
    this.sleep = opts.sleep ?? abortableSleep;
    this.rng = opts.rng ?? mathRandomRng;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
  }

  /** POSTs until a 2xx answer starts; throws the mapped UpstreamError otherwise. */
  async post(req: PostRequest): Promise<OkResponse> {
    const timeoutMs = req.timeoutMs ?? this.opts.timeoutMs;
    const signal = req.signal;
    // The deadline is elapsed time, on the monotonic clock: with the wall clock a step of the machine's
    // clock forward during a retry's wait left the next attempt a 1 ms headers timeout (the call given
    // up as timed out), and a step back stretched the deadline by the step. `clock` stays the wall
    // clock a retry-after HTTP date is read against.
    const deadline = performance.now() + timeoutMs;
    const path = this.pathPrefix + req.path + this.pathSuffix;
    for (let attempt = 1; ; attempt++) {
      let failure: UpstreamError;
      let retryable: boolean;
      let retryAfterMs: number | undefined;
      try {
        const res = await this.pool.request({
          path,
          method: 'POST',
          headers: req.headers,
          body: req.body,
          signal: signal ?? null,
          headersTimeout: Math.max(1, deadline - performance.now()),
          bodyTimeout: timeoutMs,
        });
        let refused: { status: number; text: string; inStream: boolean };
        if (res.statusCode >= 200 && res.statusCode < 300) {
          const ok: OkResponse = { status: res.statusCode, headers: res.headers, body: res.body, attempts: attempt, timeoutMs, signal };
          if (req.streamStart === undefined || !isEventStream(res.headers)) return ok;
          const start = await readStreamStart(res.body, req.streamStart);
          if ('bytes' in start) return { ...ok, head: start };
          // The stream opened with the provider's error: nothing was relayed, so it is that error's status.
          res.body.destroy();
          refused = { status: start.status, text: start.body, inStream: true };
        } else {
          refused = { status: res.statusCode, text: await readLimited(res.body, ERROR_BODY_LIMIT), inStream: false };
        }
        failure = errorFromStatus(refused.status, refused.text, this.ctx, refused.inStream);
        failure.retryHeaders = retryHints(refused.status, res.headers);
        failure.upstreamRequestId = providerRequestId(res.headers);
        // The provider's explicit word wins over the status, as in its own SDK: a 500 it says not to
        // retry was sent three times here and, with the header dropped, three more times per client retry.
        retryable = shouldRetryHint(res.headers['x-should-retry']) ?? isRetryableStatus(refused.status);
        retryAfterMs = parseRetryAfterMs(
          res.headers['retry-after'],
          res.headers['retry-after-ms'],
          this.clock.now(),
          this.tuning.maxRetryAfterMs,
        );
      } catch (err) {
        const callerAborted = signal?.aborted ?? false;
        failure = errorFromException(err, { ...this.ctx, timeoutMs, callerAborted, phase: 'request' });
        retryable = isRetryableException(err, callerAborted);
      }
      if (!retryable || attempt > this.opts.maxRetries) throw failure;
      const delayMs = retryAfterMs ?? backoffDelayMs(attempt, this.tuning, this.rng);
      // Waiting past the deadline only to time out is worse than reporting the real failure now.
      if (performance.now() + delayMs >= deadline) throw failure;
      this.logger.warn(
        { upstream: this.opts.upstreamName, attempt, delayMs, status: failure.upstreamStatus, upstreamRequestId: failure.upstreamRequestId, error: failure.message },
        'retrying upstream call',
      );
      try {
        await this.sleep(delayMs, signal);
      } catch {
        throw errorFromException(new Error('aborted'), {
          ...this.ctx,
          timeoutMs,
          callerAborted: true,
          phase: 'request',
        });
      }
    }
  }

  /** Reads a whole 2xx body as text, refusing one larger than maxResponseBytes. */
  async readText(res: OkResponse): Promise<string> {
    const max = this.opts.maxResponseBytes;
    try {
      if (max === undefined) return redact(await res.body.text(), this.ctx.secrets);
      // A declared length over the cap is refused before a byte is read.
      if (Number(res.headers['content-length'] ?? 0) > max) throw this.tooLarge(res, max);
      const parts: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > max) throw this.tooLarge(res, max);
        parts.push(buf);
      }
      return redact(Buffer.concat(parts, size).toString('utf8'), this.ctx.secrets);
    } catch (err) {
      throw err instanceof UpstreamError ? err : this.bodyError(err, res);
    }
  }

  /**
   * A 2xx answer to a streaming request must be an event stream. Some servers answer an error (or a
   * whole completion) as JSON with status 200: relayed as it was, a client saw an empty, successful
   * stream. The body is read (bounded) for its message and the call fails before anything is relayed.
   */
  async expectEventStream(res: OkResponse): Promise<void> {
    const type = String(res.headers['content-type'] ?? '');
    if (type === '' || /^text\/event-stream\b/i.test(type)) return;
    const text = await readLimited(res.body, ERROR_BODY_LIMIT);
    const said = parseErrorBody(redact(text, this.ctx.secrets)).message;
    const message = said === undefined ? '' : `: ${said}`;
    throw new UpstreamError(
      `${this.opts.upstreamName} answered a streaming request with ${type.split(';')[0]} instead of an event stream${message}`,
      { status: 502, code: 'upstream_bad_stream' },
    );
  }

  private tooLarge(res: OkResponse, max: number): UpstreamError {
    this.release(res);
    return new UpstreamError(`${this.opts.upstreamName} answered with more than ${max} bytes (UPSTREAM_MAX_RESPONSE_BYTES)`, {
      status: 502,
      code: 'upstream_response_too_large',
    });
  }

  /**
   * The body's bytes as they arrive, unchanged. Any failure (dropped connection, silence past the
   * timeout, caller abort) surfaces as an UpstreamError from the iterator, never as a quiet end.
   * Leaving early (break, or `return()` even before the first chunk) destroys the body, which
   * closes the upstream request.
   */
  relay(res: OkResponse): AsyncIterable<Uint8Array> {
    return releasing(redactingChunks(this.chunks(res), this.ctx.secrets), () => this.release(res));
  }

  /** Gives up on a body nobody will read: the upstream request is closed. */
  release(res: OkResponse): void {
    if (res.body.destroyed) return;
    // undici's body emits an 'error' (RequestAbortedError) when destroyed before its end; a body no
    // reader ever took (an answer refused by its declared length) had no listener for it, and the
    // unhandled 'error' event killed the process. The abort is ours: nothing to report.
    res.body.on('error', () => {});
    res.body.destroy();
  }

  private async *chunks(res: OkResponse): AsyncGenerator<Uint8Array, void, undefined> {
    const max = this.opts.maxResponseBytes ?? Number.POSITIVE_INFINITY;
    let size = 0;
    try {
      const head = res.head;
      for (const chunk of head?.bytes ?? []) {
        size += chunk.length;
        if (size > max) throw this.tooLarge(res, max);
        yield chunk;
      }
      if (head !== undefined && head.error !== undefined) throw head.error;
      const body: AsyncIterable<unknown> = head === undefined ? res.body : { [Symbol.asyncIterator]: () => head.rest };
      for await (const chunk of body) {
        size += (chunk as Uint8Array).length;
        if (size > max) throw this.tooLarge(res, max);
        yield chunk as Uint8Array;
      }
    } catch (err) {
      throw err instanceof UpstreamError ? err : this.bodyError(err, res);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private bodyError(err: unknown, res: OkResponse): UpstreamError {
    return errorFromException(err, {
      ...this.ctx,
      timeoutMs: res.timeoutMs,
      callerAborted: res.signal?.aborted ?? false,
      phase: 'body',
    });
  }
}

/**
 * Wraps an iterable so that an early exit always runs `release`. An async generator that was never
 * started ignores `return()`, which would leave the upstream request open until its timeout.
 */
export function releasing<T>(source: AsyncIterable<T>, release: () => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T, void, undefined> {
      const it = source[Symbol.asyncIterator]();
      return {
        next: () => it.next(),
        return: async (): Promise<IteratorResult<T, void>> => {
          release();
          await it.return?.().catch(() => undefined);
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function isEventStream(headers: Record<string, string | string[] | undefined>): boolean {
  const type = String(headers['content-type'] ?? '');
  // Anything else is refused whole by expectEventStream, which reads the body itself.
  return type === '' || /^text\/event-stream\b/i.test(type);
}

/**
 * Reads a stream's body up to its first event that is not an opening one (`check` says WAIT for
 * those), at most ERROR_BODY_LIMIT bytes (an error comes early and is small): the provider's error
 * when that event is one `check` knows, else what was read, for the relay. Comments (keep-alives) are
 * read past; a block with lines but no event (malformed) ends the check, and the stream checks
 * (sseFraming.ts) report it as before.
 */
async function readStreamStart(body: Dispatcher.ResponseData['body'], check: StreamStartCheck): Promise<StreamHead | StreamStartError> {
  const rest = body[Symbol.asyncIterator]();
  const bytes: Buffer[] = [];
  // One parser fed each read as it comes: re-parsing everything read on every read cost the square of
  // the bytes (64 KiB of comments in 4-byte writes took a second of CPU per call). It decodes the bytes
  // itself (a character split between reads, a leading byte order mark dropped).
  const parser = new SseParser();
  const opening = { checked: 0 };
  let size = 0;
  try {
    while (size < ERROR_BODY_LIMIT) {
      const next = await rest.next();
      if (next.done === true) break;
      const buf = next.value as Buffer;
      bytes.push(buf);
      size += buf.length;
      const verdict = leadingVerdict(parser.push(buf), parser, opening, check);
      if (verdict === WAIT) continue;
      if (verdict !== undefined) return verdict;
      break;
    }
  } catch (error) {
    return { bytes, rest, error };
  }
  return { bytes, rest, error: undefined };
}

/**
 * The stream's leading events, read in order as they complete: the first error `check` knows, WAIT
 * while all of them open the answer (read on), undefined once one begins it or a block carried a line
 * but no event. Blocks of only comments, `retry:`, `id:` or `event:` lines dispatch nothing (WHATWG),
 * so a server that opens with `retry: 3000` still has its error read as its status.
 */
function leadingVerdict(events: SseEvent[], parser: SseParser, opening: { checked: number }, check: StreamStartCheck): StreamStartError | typeof WAIT | undefined {
  // A server that keeps sending empty chunks (a keep-alive of its own) does not hold the answer's head.
  // Counted in events, not reads: an error after the bound is relayed whether it came in the same
  // write as the opening events or in a later one.
  for (const ev of events) {
    if (opening.checked >= MAX_OPENING_EVENTS) return undefined;
    opening.checked += 1;
    const verdict = check(ev);
    if (verdict !== WAIT) return verdict;
  }
  if (opening.checked >= MAX_OPENING_EVENTS) return undefined;
  return parser.strayBlocks > 0 ? undefined : WAIT;
}

/** Reads at most `limit` bytes of an error body, then lets the connection go. */
async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      parts.push(buf);
      size += buf.length;
      if (size >= limit) {
        body.destroy();
        break;
      }
    }
  } catch {
    // A broken error body still leaves us the status code to report.
  }
  return Buffer.concat(parts).toString('utf8').slice(0, limit);
}

export { CLIENT_CLOSED_STATUS };

/**
 * The upstream's retry headers, as sent, relayed with the error it ends in: `retry-after` /
 * `retry-after-ms` of any status the proxy retries (429, every 5xx: Anthropic's 529 `overloaded_error`
 * may carry one), and `x-should-retry` of any status, so the client's SDK waits, or gives up, as the
 * provider asked. openai-node and the Anthropic SDK honour a wait on every status they retry: relayed
 * only with a 429 or 503, an overloaded provider's 529 reached the SDK without it, and the SDK retried
 * after its own half-second backoff.
 */
function retryHints(status: number, headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  const names = isRetryableStatus(status) ? ['retry-after', 'retry-after-ms', 'x-should-retry'] : ['x-should-retry'];
  for (const name of names) {
    const value = firstHeaderValue(headers[name]);
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** What a provider request id looks like (`req_...`, a UUID): anything longer or stranger is not logged. */
const PROVIDER_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The provider's id of an answer: OpenAI (and compatible servers) send `x-request-id`, Anthropic `request-id`. */
function providerRequestId(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of ['x-request-id', 'request-id']) {
    const value = firstHeaderValue(headers[name]);
    if (value !== undefined && PROVIDER_REQUEST_ID.test(value)) return value;
  }
  return undefined;
}
