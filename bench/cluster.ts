/**
 * Scale-out benchmark (`npm run bench:cluster`, issue 18): proxied requests/s at N concurrent
 * connections against one fake OpenAI upstream (its own process), for
 *   sqlite      one `miprox serve`, SQLite file, reached directly
 *   postgres    one `miprox serve`, PostgreSQL (127.0.0.1:5432/test, a throw-away schema), directly
 *   haproxy xN  N = 1, 2, 3 `miprox serve` processes on one PostgreSQL schema behind HAProxy
 * Every request is a new rollout (persisted), as in bench:proxy. The first two rows give the
 * PostgreSQL/SQLite ratio (target >= 0.8x); the last three the scale-out curve.
 *
 *   npx tsx bench/cluster.ts [--connections 32] [--seconds 6] [--instances 3] [--rounds 3] [--pair-only] [--profile] [--json out.json]
 *
 * `--rounds N` measures the SQLite/PostgreSQL pair N times, alternating which goes first, and reports
 * each round's ratio (the machine is shared: neighbours' load shifts between rows, so the pair is
 * only comparable within a round). `--pair-only` skips the HAProxy rows. `--profile` runs each
 * single instance under `node --cpu-prof` and prints where its CPU time went. The scale-out rows
 * also say where the CPU went per request (instances, HAProxy, PostgreSQL, the whole machine), how
 * much of the machine was idle, and how many backends waited on a lock on average.
 *
 * On a 2-core machine the curve peaks at one instance and then falls: the load generator, HAProxy,
 * PostgreSQL, the fake upstream and every miprox process share the same two cores, and each process
 * pays more CPU per request the smaller its share of the traffic (measured: docs/deploy.md).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { dropPostgresSchema } from '../src/store/postgres/postgresStore.js';
import { findHaproxy, startCluster } from '../test/helpers/cluster.js';
import { PG_URL, uniqueSchema } from '../test/helpers/postgres.js';
import { seedJobBody } from '../test/helpers/server.js';
import type { LoadResult } from './lib/loadClient.js';
import { cpuMeter, machineCpuMeter, postgresCpuMeter } from './lib/procCpu.js';
import { spawnService } from './lib/processes.js';
import { concurrentPhase } from './lib/proxyPhases.js';
import { miproxTarget, smokeTest } from './lib/proxyTargets.js';
import { argValue, numberArg, table, verdictLines } from './lib/report.js';
import { fmtMs, fmtRate } from './lib/stats.js';
import { measurePairs, pairVerdicts, type PairRow } from './lib/storePair.js';

const LIB = join(import.meta.dirname, 'lib');

/** Where a scale-out row's CPU went, per request sent, and how often its backends waited on a lock. */
interface CurveCpu { instances: number | null; balancer: number | null; postgres: number; machine: number | null; idleShare: number | null; lockWaiters: number }
interface CurveRow { name: string; load: LoadResult; cpu: CurveCpu }

async function main(): Promise<void> {
  const o = { connections: numberArg('--connections', 32), measureMs: numberArg('--seconds', 6) * 1000, warmupMs: 1500, instances: numberArg('--instances', 3), rounds: numberArg('--rounds', 3) };
  const pairOnly = process.argv.includes('--pair-only');
  const began = Date.now();
  console.log(`miprox scale-out benchmark: node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const fake = await spawnService({ name: 'fake upstream', args: ['--import', 'tsx', join(LIB, 'fakeUpstreamMain.ts')], ready: /fake upstream at (\S+)/ });
  const shape = { connections: o.connections, warmupMs: o.warmupMs, measureMs: o.measureMs };
  let pair: PairRow[] = [];
  const curve: CurveRow[] = [];
  try {
    pair = await measurePairs({ upstreamUrl: fake.ready, shape, rounds: o.rounds, profile: process.argv.includes('--profile') });
    if (pairOnly) console.log('--pair-only: the HAProxy rows are skipped');
    else if (!findHaproxy()) console.log('haproxy is not installed: the scale-out rows are skipped (apt-get install -y haproxy)');
    else for (let n = 1; n <= o.instances; n++) curve.push(await measureCluster(n, fake.ready, shape));
  } finally {
    await fake.stop();
  }

  console.log('');
  const ms = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${x.toFixed(3)} ms`);
  console.log(table(
    ['setup', 'req/s', 'p50', 'p99', 'errors', 'miprox CPU/req', 'its PG backends CPU/req', 'all PG processes CPU/req'],
    pair.map((r) => [r.name, fmtRate(r.load.rps), fmtMs(r.load.latency.p50), fmtMs(r.load.latency.p99), String(r.load.errors), ms(r.cpu.miprox), ms(r.cpu.backends), ms(r.cpu.postgres)]),
  ));
  if (curve.length) {
    // Per request: where the machine's CPU went as instances were added, and whether it had any left.
    console.log(`\nScale-out behind HAProxy (CPU per request; "machine" is every process on the ${cpus().length} cores, the load generator and fake upstream included):`);
    console.log(table(
      ['setup', 'req/s', 'p50', 'p99', 'errors', 'miprox (all instances)', 'HAProxy', 'PostgreSQL', 'machine', 'machine idle', 'backends waiting on a lock'],
      curve.map((r) => [r.name, fmtRate(r.load.rps), fmtMs(r.load.latency.p50), fmtMs(r.load.latency.p99), String(r.load.errors), ms(r.cpu.instances), ms(r.cpu.balancer), ms(r.cpu.postgres), ms(r.cpu.machine),
        r.cpu.idleShare === null ? '-' : `${(100 * r.cpu.idleShare).toFixed(0)}%`, r.cpu.lockWaiters.toFixed(2)]),
    ));
  }
  const { verdicts, cpuLines } = pairVerdicts(pair);
  console.log(`\nTargets:\n${verdictLines(verdicts)}`);
  for (const line of cpuLines) console.log(line);
  if (curve.length) console.log(`scale-out curve (req/s by instances): ${curve.map((r, i) => `${i + 1}: ${fmtRate(r.load.rps)}`).join(', ')}`);
  const jsonOut = argValue('--json');
  if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ options: o, pair, curve, verdicts, machine: { cpus: cpus().length, node: process.version, loadavg: loadavg() } }, null, 2)}\n`);
  console.log(`\ntotal run time ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

/** N instances on one schema behind HAProxy, one job, the same load as the pair. */
async function measureCluster(n: number, upstreamUrl: string, shape: { connections: number; warmupMs: number; measureMs: number }): Promise<CurveRow> {
  const schema = uniqueSchema('bench_cluster');
  const key = `bench_${randomBytes(16).toString('hex')}`;
  const cluster = await startCluster({ instances: n, pgUrl: PG_URL, schema, key, env: { OPENAI_BASE_URL: upstreamUrl, OPENAI_API_KEY: 'sk-bench' } });
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    const res = await fetch(`${cluster.url}/api/policy-optimization/online/jobs`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(seedJobBody({ provider: 'openai', proposerProvider: 'openai', initialPrompt: 'You are a helpful assistant.' })),
    });
    const job = (await res.json()) as { proxy_url: string };
    const target = miproxTarget(cluster.url, new URL(job.proxy_url).pathname, `x${n}`);
    await smokeTest(target);
    console.log(`haproxy x${n}: ${n} PostgreSQL instance(s) behind HAProxy, ${shape.connections} connections, ${shape.measureMs / 1000} s (load average ${loadavg()[0]!.toFixed(2)})...`);
    const pids = cluster.pids();
    const meter = cpuMeter({ balancer: pids.balancer, ...Object.fromEntries(pids.instances.map((pid, i) => [`m${i}`, pid])) });
    const pgMeter = postgresCpuMeter();
    const machine = machineCpuMeter();
    // Backends of this benchmark's database waiting on a lock (the job row every write statement
    // locks first), sampled every 20 ms through the run: the average number waiting.
    let samples = 0;
    let waiting = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await admin.query<{ n: string }>(`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`);
        samples++;
        waiting += Number(r.rows[0]?.n ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const load = await concurrentPhase(target, shape);
    sampling = false;
    await sampler;
    const per = (x: number | null | undefined) => (x === null || x === undefined ? null : x / Math.max(1, load.nextN));
    const used = meter.stop();
    const instanceMs = pids.instances.reduce<number | null>((sum, _, i) => (sum === null || used[`m${i}`] == null ? null : sum + used[`m${i}`]!), 0);
    const m = machine.stop();
    return {
      name: `haproxy x${n} (PostgreSQL)`, load,
      cpu: {
        instances: per(instanceMs), balancer: per(used.balancer), postgres: per(pgMeter.stop()) ?? 0,
        machine: per(m?.busyMs), idleShare: m ? m.idleMs / Math.max(1, m.busyMs + m.idleMs) : null, lockWaiters: samples ? waiting / samples : 0,
      },
    };
  } finally {
    await admin.end();
    await cluster.close();
    await dropPostgresSchema(PG_URL, schema);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
