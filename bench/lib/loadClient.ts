import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { summarize, type LatencySummary } from './stats.js';

/**
 * A closed-loop HTTP load generator: `connections` workers on one keep-alive undici Pool, each sending
 * its next request as soon as the previous answer is fully read. Used in-process for the sequential
 * runs (connections = 1) and inside a child process (loadWorker.ts) for the concurrent runs.
 */
export interface LoadSpec {
  /** `http://host:port` */
  origin: string;
  /** Request path; `{n}` is replaced by a number unique within the run (fresh rollout ids). */
  pathTemplate: string;
  method?: 'POST' | 'GET';
  headers: Record<string, string>;
  /** The request body; `{n}` is replaced like in the path. */
  body: string;
  /** Bodies to cycle through instead (request `n` sends `bodies[n % length]`, `{n}` replaced as in `body`). */
  bodies?: string[];
  connections: number;
  /** Requests (or time) not measured, to let JITs, pools and caches settle. */
  warmup: { requests: number } | { ms: number };
  /** Stop after this many measured requests, or after this much measured time. */
  measure: { requests: number } | { ms: number };
  /** First value of `{n}`, so several runs against one server never reuse an id. */
  firstN?: number;
  /** Return the raw measured latencies too (to merge several runs). */
  keepSamples?: boolean;
}

export interface LoadResult {
  latency: LatencySummary;
  /** Measured completions per second of measured wall time. */
  rps: number;
  measuredRequests: number;
  wallMs: number;
  errors: number;
  /** A sample of what went wrong (status and body start, or the exception). */
  errorSamples: string[];
  nextN: number;
  samplesMs?: number[];
}

/** Keep-alive, no pipelining, and a hung server turns into errors instead of a hung benchmark. */
export function benchPoolOptions(connections: number): Pool.Options {
  return { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 };
}

export async function runLoad(spec: LoadSpec, pool?: Pool): Promise<LoadResult> {
  const owned = pool === undefined;
  const dispatcher = pool ?? new Pool(spec.origin, benchPoolOptions(spec.connections));
  const needsPathN = spec.pathTemplate.includes('{n}');
  const bodies = spec.bodies && spec.bodies.length > 0 ? spec.bodies : [spec.body];
  const needsBodyN = bodies.map((b) => b.includes('{n}'));
  let n = spec.firstN ?? 0;
  const samples: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let warmupLeft = 'requests' in spec.warmup ? spec.warmup.requests : Number.POSITIVE_INFINITY;
  let measuring = false;
  let measureStart = 0;
  let measureEnd = Number.POSITIVE_INFINITY;
  let measuredLeft = 'requests' in spec.measure ? spec.measure.requests : Number.POSITIVE_INFINITY;
  let started = 0;
  const begin = performance.now();

  const startMeasuring = (now: number) => {
    measuring = true;
    measureStart = now;
    if ('ms' in spec.measure) measureEnd = now + spec.measure.ms;
  };
  if ('ms' in spec.warmup) setTimeout(() => startMeasuring(performance.now()), spec.warmup.ms).unref();
  else if (warmupLeft === 0) startMeasuring(begin);

  const one = async (): Promise<void> => {
    const id = n++;
    const path = needsPathN ? spec.pathTemplate.replaceAll('{n}', String(id)) : spec.pathTemplate;
    const which = id % bodies.length;
    const body = needsBodyN[which] ? bodies[which]!.replaceAll('{n}', String(id)) : bodies[which]!;
    const countsAsMeasured = measuring;
    if (countsAsMeasured) started++;
    const t0 = performance.now();
    try {
      const res = await dispatcher.request({ path, method: spec.method ?? 'POST', headers: spec.headers, body });
      const text = await res.body.text();
      const t1 = performance.now();
      if (res.statusCode !== 200) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${res.statusCode} ${text.slice(0, 300)}`);
      } else if (countsAsMeasured && t1 <= measureEnd) {
        samples.push(t1 - t0);
      }
    } catch (err) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    }
    if (!measuring && 'requests' in spec.warmup && --warmupLeft <= 0) startMeasuring(performance.now());
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const now = performance.now();
      if (measuring && (now >= measureEnd || started >= measuredLeft)) return;
      await one();
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, worker));
  const wallMs = Math.min(performance.now(), measureEnd) - measureStart;
  if (owned) await dispatcher.close();
  return {
    latency: summarize(samples),
    rps: (samples.length / wallMs) * 1000,
    measuredRequests: samples.length,
    wallMs,
    errors,
    errorSamples,
    nextN: n,
    ...(spec.keepSamples ? { samplesMs: samples } : {}),
  };
}
