import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the gauges read when scraped: sizes of the server's in-memory state. */
export interface MetricSources {
  /** Jobs whose state this instance holds in memory (engine.ts). */
  cachedJobs(): number;
  /** Rollouts those jobs remember, in flight included (engine.ts; bounded by JOB_CACHE_MAX_ROLLOUTS). */
  cachedRollouts(): number;
}

/** Prometheus metrics, one registry per server (tests start many servers in one process). */
export function createMetrics(sources?: MetricSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // A long-running server's memory follows these: a value that only grows is a leak to report.
  if (sources) {
    new Gauge({
      name: 'miprox_cached_jobs', help: 'Jobs whose state this instance holds in memory', registers: [registry],
      collect() { this.set(sources.cachedJobs()); },
    });
    new Gauge({
      name: 'miprox_cached_rollouts',
      help: 'Rollouts the cached jobs remember (rollout id to candidate, and rollouts in flight); at most about JOB_CACHE_MAX_ROLLOUTS',
      registers: [registry],
      collect() { this.set(sources.cachedRollouts()); },
    });
  }
  return {
    registry,
    httpDuration: new Histogram({
      name: 'miprox_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    proxyOverhead: new Histogram({
      name: 'miprox_proxy_overhead_seconds',
      help: 'Time the proxy adds to an LLM call: handling time until the answer (a stream: its start) is handed to the client, minus upstream time',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: 'miprox_upstream_duration_seconds',
      help: 'Upstream model call latency by provider',
      labelNames: ['provider', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    rewards: new Counter({
      name: 'miprox_rewards_total', help: 'Rewards received', labelNames: ['duplicate'] as const, registers: [registry],
    }),
    proposals: new Counter({
      name: 'miprox_proposals_total', help: 'Proposals run by outcome', labelNames: ['outcome'] as const, registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
