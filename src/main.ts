import { setMaxListeners } from 'node:events';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from './config/config.js';
import { buildApp } from './api/app.js';
import { seedApiKey } from './api/auth.js';
import { createMetrics } from './api/metrics.js';
import { type Clock, systemClock } from './shared/clock.js';
import { DATABASE_CLOCK_SYNC_MS, databaseClock } from './shared/databaseClock.js';
import { type PeriodicTask, startPeriodicTask } from './shared/periodicTask.js';
import { REDACT_PATHS } from './shared/logger.js';
import { mathRandomRng, type Rng } from './shared/rng.js';
import { BackgroundTasks } from './shared/backgroundTasks.js';
import { registerCandidateRoutes } from './api/candidateRoutes.js';
import { registerDashboardRoutes } from './api/dashboardRoutes.js';
import { legacyRoutes } from './api/legacyRoutes.js';
import { sessionRoutes } from './api/sessionRoutes.js';
import { OnlineEngine } from './optimizer/runner/engine.js';
import { IN_FLIGHT_TTL_MS } from './optimizer/runner/missingRewards.js';
import { ProposalRunner } from './optimizer/runner/proposalRunner.js';
import type { ResolveHost } from './providers/guardedLookup.js';
import { createProviderRegistry, type ProviderRegistry } from './providers/registry.js';
import { createSimProvider } from './providers/sim/index.js';
import type { ChatProvider, ProviderTarget } from './providers/types.js';
import { proxyRoutes } from './proxy/proxyRoute.js';
import { JobService } from './services/jobService.js';
import { RewardService } from './services/rewardService.js';
import { SchedulerService } from './services/schedulerService.js';
import { startRetention } from './services/retention.js';
import { startProposalLeaseSweep } from './services/proposalLeaseSweep.js';
import { type JobPurger, startJobPurger } from './services/jobPurger.js';
import { inferenceDnsCheck } from './services/inferenceDnsCheck.js';
import { upstreamGuard } from './services/upstreamGuard.js';
import { openStore } from './store/open.js';
import type { JobRecord, Store } from './store/types.js';
import { ConflictError, JobGoneError, ShuttingDownError } from './shared/errors.js';
import { LiveStreams } from './proxy/liveStreams.js';

/**
 * Composition root: config -> store -> services -> HTTP server. The only module that wires concrete
 * implementations together; everything below it takes its dependencies as arguments.
 */
export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: Store;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), then closes the store. */
  close(): Promise<void>;
  /**
   * Resolves once the work that answered requests left running (rollout call records, proposals) has
   * finished, with any work it started: what close() waits for. A test or an embedder that needs
   * a quiet instance waits on this rather than on a guess of how long that work takes.
   */
  settled(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  rng?: Rng;
  logger?: pino.Logger;
  /** Replaces the built-in simulator (tests plug in scripted upstreams this way). */
  sim?: (target: ProviderTarget) => ChatProvider;
  /** How long cached job state is trusted before re-reading the database (default 1 s). */
  cacheTtlMs?: number;
  /** How often RETENTION_DAYS is applied (default hourly). */
  retentionIntervalMs?: number;
  /** How often abandoned proposals (lease expired) are looked for (default 10 s). */
  proposalSweepIntervalMs?: number;
  /** Name resolution for inference_url hosts (tests stand in for DNS). */
  resolveHost?: ResolveHost;
  /** How often deleted jobs left half removed are looked for (default 10 minutes; also at start). */
  purgeSweepIntervalMs?: number;
}

/** How long streams stopped at the end of the grace period get to write their error event. */
const STREAM_STOP_MS = 500;

/** pino with keys redacted; `fd` 2 keeps logs off stdout when stdout carries a command's output. */
export function createLogger(config: AppConfig, fd: 1 | 2 = 1): pino.Logger {
  return pino({ level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination(fd));
}

export async function startServer(config: AppConfig, opts: StartOptions = {}): Promise<RunningServer> {
  // On PostgreSQL every instance keeps the database's time (databaseClock.ts); an injected clock is
  // used as it is (tests move it by hand).
  const synced = opts.clock === undefined && config.database.kind === 'postgres' ? databaseClock(systemClock) : null;
  const clock = opts.clock ?? synced ?? systemClock;
  const logger = opts.logger ?? createLogger(config);
  const store = await openStore(config.database, clock, (err, what) => logger.error({ err }, what), { queryTimeoutMs: config.databaseQueryTimeoutMs });
  let clockSync: PeriodicTask | null = null;
  try {
    if (synced) {
      const read = () => store.leaseClockNow();
      await synced.sync(read);
      clockSync = startPeriodicTask(async () => {
        try {
          await synced.sync(read);
        } catch (err) {
          logger.warn({ err }, 'reading the database clock failed; keeping the last reading');
        }
      }, DATABASE_CLOCK_SYNC_MS);
    }
    if (config.seedApiKey) await seedApiKey(store, config.seedApiKey);
    const background = new BackgroundTasks(logger);
    const providers: ProviderRegistry = createProviderRegistry(config.providers, {
      sim: opts.sim ?? ((t) => createSimProvider(t)), logger, ...(opts.resolveHost !== undefined ? { resolveHost: opts.resolveHost } : {}),
    });
    const rng = opts.rng ?? mathRandomRng;
    const jobs = new JobService(
      store, clock, upstreamGuard(config.providers), inferenceDnsCheck(config.providers.allowedInferenceHosts, opts.resolveHost, logger),
    );
    // Ending a job after a committed reward must not turn that reward's 2xx into an error: a job that
    // another request already finished simply stays as it is.
    const finishJob = async (job: JobRecord, reason: string): Promise<JobRecord> => {
      try {
        return await jobs.transition(job, 'succeed', reason);
      } catch (err) {
        // Deleted meanwhile (JobGoneError): nothing is left to end, and the reward stays a 2xx too.
        if (err instanceof ConflictError || err instanceof JobGoneError) return (await store.getJob(job.id)) ?? job;
        throw err;
      }
    };
    let proposals: ProposalRunner;
    const engine = new OnlineEngine(
      {
        store, clock, rng, log: logger,
        finishJob: async (job, reason) => void (await finishJob(job, reason)),
        propose: (rt) => {
          const run = proposals.run(rt);
          background.add(run, 'proposal');
          return run;
        },
      },
      { cacheTtlMs: opts.cacheTtlMs ?? 1000, inFlightTtlMs: IN_FLIGHT_TTL_MS, maxCachedRollouts: config.jobCacheMaxRollouts },
    );
    const metrics = createMetrics({ cachedJobs: () => engine.cachedJobCount, cachedRollouts: () => engine.cachedRolloutCount });
    // Aborted when the shutdown's grace period runs out: proposals still waiting on the proposer end then.
    const stopping = new AbortController();
    // One listener per proposer call in flight (one per job proposing): past ten, Node warned of an
    // EventTarget leak that is none (each call removes its own).
    setMaxListeners(0, stopping.signal);
    proposals = new ProposalRunner({
      store, clock, rng, log: logger, providers, proposerTimeoutMs: config.providers.proposerTimeoutMs, stopping: stopping.signal,
      refresh: (rt) => engine.refresh(rt),
      onOutcome: (outcome) => metrics.proposals.inc({ outcome }),
    });
    jobs.onChange((job) => engine.jobChanged(job));
    // Set once the server listens (no delete can come before); a delete's removal begins as it is answered.
    let purger: JobPurger | null = null;
    jobs.onDelete((jobId) => {
      engine.jobDeleted(jobId);
      purger?.purge(jobId);
    });
    const rewards = new RewardService(store, engine, finishJob, (duplicate) => metrics.rewards.inc({ duplicate: String(duplicate) }));
    const scheduler = new SchedulerService(store, engine);
    const streams = new LiveStreams();
    const { app } = await buildApp({
      config, store, logger, metrics, jobs,
      plugins: [
        proxyRoutes({ engine, providers, metrics, background, streams, stopping: stopping.signal }),
        sessionRoutes({ rewards, scheduler }),
        registerCandidateRoutes,
        legacyRoutes(rewards),
        registerDashboardRoutes,
      ],
    });
    await app.listen({ port: config.port, host: config.host });
    const retention = config.retentionDays === undefined ? null : startRetention({
      store, clock, log: logger, days: config.retentionDays,
      ...(opts.retentionIntervalMs !== undefined ? { intervalMs: opts.retentionIntervalMs } : {}),
    });
    purger = startJobPurger({
      store, log: logger, ...(opts.purgeSweepIntervalMs !== undefined ? { intervalMs: opts.purgeSweepIntervalMs } : {}),
    });
    const sweep = startProposalLeaseSweep({
      store, log: logger, ...(opts.proposalSweepIntervalMs !== undefined ? { intervalMs: opts.proposalSweepIntervalMs } : {}),
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        // Past the grace period, proposer calls in flight are cancelled (their proposals end failed),
        // streams still running end with an error event (a moment to write it), then every
        // connection is closed.
        let cut: NodeJS.Timeout | undefined;
        const timer = setTimeout(() => {
          stopping.abort(new ShuttingDownError('the server is shutting down'));
          const stopped = streams.stopAll(new ShuttingDownError('the server is shutting down; retry the request'));
          cut = setTimeout(() => app.server.closeAllConnections(), stopped > 0 ? STREAM_STOP_MS : 0);
        }, config.shutdownGraceMs);
        try {
          await app.close();
          await background.drain();
        } finally {
          clearTimeout(timer);
          clearTimeout(cut);
          await retention?.stop();
          await sweep.stop();
          await purger?.stop();
          await clockSync?.stop();
          await providers.close();
          await store.close();
        }
      })();
      return closing;
    };
    return { url: `http://${host}:${port}`, app, store, close, settled: () => background.drain() };
  } catch (err) {
    await clockSync?.stop();
    await store.close();
    throw err;
  }
}

/** SIGTERM / SIGINT: graceful stop; a second signal exits at once. */
export function installSignalHandlers(server: RunningServer, log: (msg: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log(`${signal} received: finishing in-flight requests`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
