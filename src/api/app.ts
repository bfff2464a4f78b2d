import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { performance } from 'node:perf_hooks';
import type { AppConfig } from '../config/config.js';
import type { JobService } from '../services/jobService.js';
import type { Store } from '../store/types.js';
import { storageHealth } from '../store/unavailable.js';
import { MAX_ID_LENGTH } from '../schemas/reward.js';
import { randomHex } from '../shared/ids.js';
import { installRequestGuards, NoRouteError } from './requestGuards.js';
import { Authenticator } from './auth.js';
import { type ApiDeps, jobUrls } from './deps.js';
import { parseJsonBodies, refuseOtherBodies } from './jsonBody.js';
import { DeferredChildLogger } from './deferredLogger.js';
import { clientErrorHandler } from './clientErrors.js';
import { isMessagesPath, sendError } from './errorMapping.js';
import { ServerClosingError } from '../shared/errors.js';
import { registerJobRoutes } from './jobRoutes.js';
import { registerLifecycleRoutes } from './lifecycleRoutes.js';
import type { Metrics } from './metrics.js';
import { installJsonCompression } from './jsonCompression.js';
import { closeStalledReaders } from './stalledReaders.js';

export interface AppParts {
  config: AppConfig;
  store: Store;
  logger: FastifyBaseLogger;
  metrics: Metrics;
  jobs: JobService;
  /** Route modules added by later layers (proxy, sessions, dashboard), registered in order. */
  plugins?: Array<(app: FastifyInstance, deps: ApiDeps) => void | Promise<void>>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const READY_PING_TIMEOUT_MS = 2000;

/** After a write met a full disk (or an I/O error), /readyz says "down" this long; see unavailable.ts. */
export const STORAGE_FAULT_UNREADY_MS = 5000;

async function databaseState(store: Store, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
  const health = storageHealth(store);
  if (health?.lastFaultAt != null && performance.now() - health.lastFaultAt < STORAGE_FAULT_UNREADY_MS) {
    return { ok: false, error: `database storage failing: ${health.lastFault ?? 'unknown fault'}` };
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([store.ping(), timeout]);
    return { ok: true };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    return { ok: false, error: `database unreachable: ${withoutAddressOrNames(cause instanceof Error ? cause.message : String(cause))}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /readyz answers without a key, so its reason names the failure but never where the database is or
 * who logs in to it: Node's network errors end in the address they tried (`connect ECONNREFUSED
 * 10.0.3.7:5432`, `getaddrinfo ENOTFOUND db.internal`), and PostgreSQL's refusals quote the role,
 * database, schema or client host (`password authentication failed for user "miprox"`), which tell anyone who
 * can reach the proxy the internal network's layout and a login name to try. The operator sees the
 * whole message in the pool's error log.
 */
export function withoutAddressOrNames(message: string): string {
  return message
    .replace(/\b(getaddrinfo |connect |read |write )?(E[A-Z_]{3,}) \S+/g, (_, op: string | undefined, code: string) => `${op ?? ''}${code} <address>`)
    // Table names are miprox's own (`relation "jobs" does not exist` says which one is gone): kept.
    .replace(/\b(user|role|database|host|schema) "[^"]*"/g, '$1 "<name>"');
}

/**
 * A connection whose answer has not moved this long is closed (stalledReaders.ts). Every wait a request
 * meets has its own bound (REQUEST_TIMEOUT_MS to arrive, DATABASE_QUERY_TIMEOUT_MS per query,
 * UPSTREAM_TIMEOUT_MS for an answer to start and between a stream's events), so an answer that waits
 * twice their sum is one a client stopped reading. Idle keep-alive connections close sooner, at
 * Fastify's keepAliveTimeout (72 s).
 */
export function silentConnectionMs(config: Pick<AppConfig, 'requestTimeoutMs' | 'databaseQueryTimeoutMs' | 'providers'>): number {
  return 2 * (config.requestTimeoutMs + config.databaseQueryTimeoutMs + config.providers.timeoutMs);
}

/** Builds the HTTP server: common behaviour (ids, errors, limits, metrics, health) and the routes. */
export async function buildApp(parts: AppParts): Promise<{ app: FastifyInstance; deps: ApiDeps }> {
  const idPrefix = randomHex(4);
  let requestCounter = 0;
  const newRequestId = (): string => `req_${idPrefix}${(requestCounter++).toString(36)}`;
  // The key cache's 1 s is elapsed time: on the monotonic clock, a step of the machine's clock back
  // kept a revoked key working here for as long as the step.
  const authenticator = new Authenticator(parts.store, () => performance.now());
  const app = Fastify({
    loggerInstance: parts.logger,
    bodyLimit: parts.config.bodyLimitBytes,
    // Per-request info logs cost more than the proxy's whole budget; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Each request's child logger is made when something logs through it (deferredLogger.ts).
    childLoggerFactory: (logger, bindings, options) => new DeferredChildLogger(logger, bindings, options),
    // A client-supplied id is kept (if sane) so logs can be joined across services; otherwise a
    // per-process random prefix and a counter (no randomness per request on the hot path).
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
    },
    // Refused by our own onRequest hook below instead, in the documented error shape (ServerClosingError).
    return503OnClosing: false,
    // Fastify's default is no limit: a client sending its body a byte at a time held a connection
    // (and its buffers) forever. Node checks the deadline every connectionsCheckingInterval, so
    // that is a fraction of it; headers must arrive within it too (Node refuses a longer one).
    requestTimeout: parts.config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(60_000, parts.config.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(parts.config.requestTimeoutMs / 4))),
    },
    clientErrorHandler: clientErrorHandler(parts.config.requestTimeoutMs, parts.logger, newRequestId),
    // Rollout ids travel in the proxy path and may be as long as the reward API accepts.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_ID_LENGTH },
    // Router errors (a too-long parameter, a malformed URL) come before any hook: same error shape.
    frameworkErrors: (err, req, reply) => {
      reply.header('x-request-id', req.id);
      if (isMessagesPath(req.url)) reply.header('request-id', req.id);
      sendError(err, req, reply, parts.logger);
    },
  });
  // A client that stopped reading its answer is let go once the answer stops moving (stalledReaders.ts).
  closeStalledReaders(app.server, silentConnectionMs(parts.config));

  const deps: ApiDeps = {
    config: parts.config,
    store: parts.store,
    log: parts.logger,
    jobs: parts.jobs,
    authenticate: (req) => authenticator.authenticate(req),
    urls: jobUrls,
  };

  // Once close() has begun, a request that still arrives (on a connection a balancer kept open) is
  // refused before anything of it runs, in the documented shape and with a code saying it was not
  // processed, so a client may send any request again, a rollout or a job creation included.
  // (Fastify's own return503OnClosing answered in its shape, which no client could tell apart.)
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // Callback-style hooks: on every proxied call, an async hook costs a promise and a microtask hop.
  app.addHook('onRequest', (req, reply, done) => {
    // Error bodies quote what the client sent (a path, a field): JSON is never to be sniffed as a page.
    reply.header('x-request-id', req.id).header('x-content-type-options', 'nosniff');
    // The Anthropic SDK reads its request id from `request-id` (Anthropic's header), never
    // `x-request-id`: without it an error's `requestID` and a message's `_request_id` were undefined
    // through the proxy. The same id, so it finds the same log lines.
    if (isMessagesPath(req.url)) reply.header('request-id', req.id);
    done(closing ? new ServerClosingError('the server is shutting down and did not process this request: send it again (another instance takes it)') : undefined);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    parts.metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
  const unmatched = installRequestGuards(app);
  // Before any route: the control API's large JSON answers go gzipped to clients that accept it.
  installJsonCompression(app);
  // A request no route matched still has its body parsed first: a bad body there (an empty one with a
  // JSON content type, as clients that set the header globally send) must not hide the 404/405.
  app.setErrorHandler((err, req, reply) => sendError(err instanceof NoRouteError || req.is404 ? unmatched(req) : err, req, reply, parts.logger));
  parseJsonBodies(app);
  refuseOtherBodies(app);
  app.setNotFoundHandler((req, reply) => sendError(unmatched(req), req, reply, parts.logger));

  app.get('/healthz', async () => ({ status: 'ok' }));
  // A live round trip, bounded: a load balancer must hear "not ready" while the database is
  // unreachable or hanging, and "ready" again as soon as a fresh connection works.
  app.get('/readyz', async (_req, reply) => {
    const state = await databaseState(parts.store, READY_PING_TIMEOUT_MS);
    if (state.ok) return { status: 'ready', database: parts.store.dialect, database_state: 'up' };
    return reply.code(503).header('retry-after', '1')
      .send({ status: 'unavailable', database: parts.store.dialect, database_state: 'down', error: state.error });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', parts.metrics.registry.contentType);
    return parts.metrics.registry.metrics();
  });

  registerJobRoutes(app, deps);
  registerLifecycleRoutes(app, deps);
  for (const plugin of parts.plugins ?? []) await plugin(app, deps);
  return { app, deps };
}
