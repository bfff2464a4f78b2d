import type { FastifyReply, FastifyRequest } from 'fastify';
import { MAX_ID_LENGTH } from '../schemas/reward.js';
import {
  AppError, BadRequestError, DatabaseUnavailableError, MethodNotAllowedError, PayloadTooLargeError, ServerClosingError, ShuttingDownError, UnsupportedMediaTypeError, UpstreamError, type FieldProblem,
} from '../shared/errors.js';
import { loggableUrl, type Logger } from '../shared/logger.js';

/**
 * The one place where errors become HTTP. Control routes answer
 * `{error:{code,message,details,request_id}}`; proxy routes answer OpenAI's
 * `{error:{message,type,param,code}}` so OpenAI SDKs surface the message.
 */
export interface HttpProblem {
  status: number;
  code: string;
  message: string;
  details: FieldProblem[];
}

export const JSON_ONLY = 'send the body as JSON with content-type: application/json';

interface FastifyLikeError { code?: string; statusCode?: number; message?: string }

export function toHttpProblem(err: unknown): HttpProblem {
  if (err instanceof AppError) return { status: err.status, code: err.code, message: err.message, details: err.details };
  const f = (err ?? {}) as FastifyLikeError;
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const e = new PayloadTooLargeError('request body is larger than the server accepts (BODY_LIMIT_BYTES)');
    return { status: e.status, code: e.code, message: e.message, details: [{ path: '', message: 'body too large' }] };
  }
  if (f.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const message = `a path parameter (such as a rollout id) is longer than ${MAX_ID_LENGTH} characters`;
    return { status: 414, code: 'uri_too_long', message, details: [{ path: 'path', message }] };
  }
  if (f.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return toHttpProblem(new UnsupportedMediaTypeError(JSON_ONLY));
  if (f.code === 'FST_ERR_BAD_URL') {
    // The message quotes the client's URL: it is about the path, whatever words the URL holds.
    const message = f.message ?? 'the URL is not valid';
    return { status: 400, code: 'bad_request', message, details: [{ path: 'path', message }] };
  }
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    const e = new BadRequestError(jsonParseMessage(f));
    return { status: f.statusCode === 400 ? 400 : f.statusCode, code: e.code, message: e.message, details: [{ path: '', message: e.message }] };
  }
  return { status: 500, code: 'internal_error', message: 'internal error; the request id identifies it in the server log', details: [] };
}

function jsonParseMessage(f: FastifyLikeError): string {
  if (f.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'body is empty but content-type is application/json';
  // Only an error with no code of its own is guessed from its words: a fastify error's message may
  // quote the client's URL or headers (`?format=json` made a bad URL "malformed JSON body").
  if (f.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (f.code === undefined && /JSON/i.test(f.message ?? ''))) return `malformed JSON body: ${f.message ?? ''}`.trim();
  return f.message ?? 'bad request';
}

export const isProxyPath = (url: string): boolean => url.startsWith('/api/mipro/');

/**
 * The proxy's Messages surface answers errors in Anthropic's shape; every other proxy path in OpenAI's.
 * A Messages route, or one of Anthropic's under it that miprox does not serve (`/messages/count_tokens`,
 * `/messages/batches...`: a 404 in Anthropic's shape). Only those: `messages` may also be a rollout id
 * (`{proxy}/messages/responses` is a Responses call).
 */
export const isMessagesPath = (url: string): boolean => isProxyPath(url) && /\/messages(\/(count_tokens|batches)(\/[^?]*)?)?\/?(\?|$)/.test(url);

/** Anthropic error `type` values by status, so Anthropic SDKs classify (and retry) as with Anthropic. */
function anthropicType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/** What a relayed provider error says of its own type, and whose types those are. */
export type UpstreamTyping = Pick<UpstreamError, 'upstreamType' | 'upstreamApi'>;

/**
 * Anthropic's error shape, `{type:"error", error:{type, message}}`, the message naming every field.
 * Anthropic's own error (a native call) keeps its type. Another API's (a Messages call translated to
 * OpenAI or a compatible server) is no type an app written against Anthropic's knows: OpenAI's rate
 * limit is `requests` or `tokens`, its bad key `invalid_request_error` with a 401. That error gets
 * Anthropic's type for its status, and the provider's own type goes in the message, so nothing is lost.
 */
export function anthropicErrorBody(p: HttpProblem, upstream?: UpstreamTyping) {
  const open = openAiErrorBody(p).error;
  const own = upstream?.upstreamType;
  if (own !== undefined && upstream?.upstreamApi === 'anthropic') return { type: 'error', error: { type: own, message: open.message } };
  const type = anthropicType(p.status);
  const message = own === undefined || own === type ? open.message : `${open.message} (upstream error type: ${own})`;
  return { type: 'error', error: { type, message } };
}

/** OpenAI error `type` values by status, so clients' retry logic behaves as with OpenAI. */
function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * OpenAI's error shape. The provider's own type is kept, Anthropic's too (a chat or Responses call
 * translated to Anthropic): OpenAI documents `type` as a free string, its SDKs classify by status,
 * and Anthropic's types name what miprox's own do here (`rate_limit_error`, `authentication_error`),
 * `overloaded_error` saying more than `api_error` would.
 */
export function openAiErrorBody(p: HttpProblem, upstreamType?: string, upstreamParam?: string) {
  // OpenAI's shape has one message and one param: the message carries every field and its reason.
  // A field whose reason is the message itself (a 414's path) adds nothing to it: said once.
  const fields = p.details.filter((d) => d.path && d.message !== p.message).map((d) => `${d.path}: ${d.message}`);
  return {
    error: {
      message: fields.length > 0 ? `${p.message}: ${fields.join('; ')}` : p.message,
      type: upstreamType ?? openAiType(p.status),
      // A provider's 4xx keeps the field it named (SPEC.md: the upstream's error in OpenAI's shape).
      param: upstreamParam ?? (p.details[0]?.path || null),
      code: p.code,
    },
  };
}

export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply, log: Logger): FastifyReply {
  const problem = toHttpProblem(err);
  if (err instanceof DatabaseUnavailableError || err instanceof ShuttingDownError || err instanceof ServerClosingError) {
    // Expected during an outage or a shutdown, and possibly on every request: one line, no alarm.
    log.warn({ reqId: req.id, url: loggableUrl(req.url), error: err.message, cause: err.cause instanceof Error ? err.cause.message : undefined }, 'request refused (503)');
  } else if (err instanceof UpstreamError) {
    // The provider failed, timed out or rate-limited the call: not ours, but an operator asked why an
    // app saw 502s found nothing in the log (only the metrics counted them). A 4xx the provider gave
    // for the request itself is the client's to read, and is not logged. A 401, 402 or 403 is not about
    // the request: the provider refused the server's own key or account (revoked, out of credit, no
    // access to the policy's model), which only the operator can fix, and every call fails until then.
    if (problem.status >= 500 || problem.status === 429 || refusedServerKey(err.upstreamStatus)) {
      log.warn({ reqId: req.id, url: loggableUrl(req.url), status: problem.status, upstreamStatus: err.upstreamStatus, upstreamRequestId: err.upstreamRequestId, error: err.message }, 'upstream call failed');
    }
  } else if (problem.status >= 500) {
    log.error({ err, reqId: req.id, url: loggableUrl(req.url) }, 'unhandled error');
  }
  reply.code(problem.status).header('content-type', 'application/json; charset=utf-8');
  // A database outage is transient: tell clients (and the SDK's retry) when to try again.
  if (err instanceof DatabaseUnavailableError) reply.header('retry-after', '1');
  // Refused unprocessed while closing: send it again at once, on a new connection (to another instance).
  if (err instanceof ServerClosingError) reply.header('retry-after', '0').header('connection', 'close');
  if (err instanceof MethodNotAllowedError) reply.header('allow', err.allow.join(', '));
  if (err instanceof UpstreamError) for (const [name, value] of Object.entries(err.retryHeaders)) reply.header(name, value);
  if (isProxyPath(req.url)) {
    const upstream = err instanceof UpstreamError ? err : undefined;
    return reply.send(isMessagesPath(req.url) ? anthropicErrorBody(problem, upstream) : openAiErrorBody(problem, upstream?.upstreamType, upstream?.upstreamParam));
  }
  return reply.send(controlErrorBody(problem, req.id));
}

/** An upstream status that refuses the server's provider key or account, never the client's request. */
function refusedServerKey(upstreamStatus: number | undefined): boolean {
  return upstreamStatus === 401 || upstreamStatus === 402 || upstreamStatus === 403;
}

/** The control routes' error shape. */
export function controlErrorBody(p: HttpProblem, requestId: string) {
  return { error: { code: p.code, message: p.message, details: p.details, request_id: requestId } };
}
