import { Pool } from 'undici';
import { benchPoolOptions, runLoad, type LoadResult, type LoadSpec } from './loadClient.js';
import { runLoadInChild } from './loadInChild.js';
import { loadSpec, type Target } from './proxyTargets.js';
import { summarize, type LatencySummary } from './stats.js';

/**
 * The two measurements of the proxy benchmark. Sequential: one keep-alive connection per target, the
 * client in this process (it is idle otherwise), targets interleaved round by round so that a noisy
 * neighbour on the shared machine hits every target alike. Concurrent: a separate load-generator
 * process per target, one target at a time.
 */
export interface SequentialResult {
  latency: LatencySummary;
  errors: number;
  errorSamples: string[];
  /** Requests sent, warm-up included (miprox: rollouts that should be persisted). */
  sent: number;
}

export async function sequentialPhase(
  targets: Target[],
  o: { requests: number; warmup: number; rounds: number; onWarm?: () => Promise<void> },
): Promise<Map<Target['name'], SequentialResult>> {
  return interleavedSequential(targets, (t, shape) => loadSpec(t, shape), o);
}

/**
 * The sequential measurement for any set of targets: each warmed up, then `rounds` rounds of one
 * connection each, the order rotated every round (whoever goes first after a pause should not always
 * be the same target). `specOf` builds a target's load from the phase's shape.
 */
export async function interleavedSequential<N extends string, T extends { name: N; origin: string }>(
  targets: readonly T[],
  specOf: (t: T, shape: Pick<LoadSpec, 'connections' | 'warmup' | 'measure'> & { firstN: number }) => LoadSpec,
  o: { requests: number; warmup: number; rounds: number; onWarm?: () => Promise<void> },
): Promise<Map<N, SequentialResult>> {
  const pools = new Map(targets.map((t) => [t.name, new Pool(t.origin, benchPoolOptions(1))]));
  const state = new Map(targets.map((t) => [t.name, { samples: [] as number[], errors: 0, errorSamples: [] as string[], n: 0 }]));
  const run = async (t: T, warmup: number, measure: number): Promise<void> => {
    const s = state.get(t.name)!;
    const spec = { ...specOf(t, { connections: 1, warmup: { requests: warmup }, measure: { requests: measure }, firstN: s.n }), keepSamples: true };
    const r: LoadResult = await runLoad(spec, pools.get(t.name));
    s.n = r.nextN;
    s.errors += r.errors;
    s.errorSamples.push(...r.errorSamples.slice(0, 3 - s.errorSamples.length));
    if (measure > 0) s.samples.push(...(r.samplesMs ?? []));
  };
  try {
    for (const t of targets) await run(t, o.warmup, 0);
    await o.onWarm?.();
    const perRound = Math.ceil(o.requests / o.rounds);
    for (let round = 0; round < o.rounds; round++) {
      for (let i = 0; i < targets.length; i++) await run(targets[(i + round) % targets.length]!, 0, perRound);
    }
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
  }
  return new Map(
    [...state.entries()].map(([name, s]) => [name, { latency: summarize(s.samples), errors: s.errors, errorSamples: s.errorSamples, sent: s.n }]),
  );
}

export async function concurrentPhase(
  t: Target,
  o: { connections: number; warmupMs: number; measureMs: number },
): Promise<LoadResult> {
  const spec = loadSpec(t, { connections: o.connections, warmup: { ms: o.warmupMs }, measure: { ms: o.measureMs } });
  return runLoadInChild(spec, o.warmupMs + o.measureMs + 30_000);
}
