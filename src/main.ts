import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from './config/config.js';
import { buildApp } from './api/app.js';
import { seedApiKey } from './api/auth.js';
import { createMetrics } from './api/metrics.js';
import { type Clock, systemClock } from './shared/clock.js';
import { REDACT_PATHS } from './shared/logger.js';
import { JobService } from './services/jobService.js';
import { openStore } from './store/open.js';
import type { Store } from './store/types.js';

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
}

export interface StartOptions {
  clock?: Clock;
  logger?: pino.Logger;
}

export async function startServer(config: AppConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? pino({ level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
  const store = await openStore(config.database, clock);
  try {
    if (config.seedApiKey) await seedApiKey(store, config.seedApiKey);
    const metrics = createMetrics();
    const jobs = new JobService(store, clock, () => []);
    const { app } = await buildApp({ config, store, logger, metrics, jobs });
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        const timer = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          await store.close();
        }
      })();
      return closing;
    };
    return { url: `http://${host}:${port}`, app, store, close };
  } catch (err) {
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
