/**
 * Scale-out benchmark (`npm run bench:cluster`, issue 18): proxied requests/s at N concurrent
 * connections against one fake OpenAI upstream (its own process), for
 *   sqlite      one `miprox serve`, SQLite file, reached directly
 *   postgres    one `miprox serve`, PostgreSQL (127.0.0.1:5432/test, a throw-away schema), directly
 *   haproxy xN  N = 1, 2, 3 `miprox serve` processes on one PostgreSQL schema behind HAProxy
 * Every request is a new rollout (persisted), as in bench:proxy. The first two rows give the
 * PostgreSQL/SQLite ratio (target >= 0.8x); the last three the scale-out curve.
 *
 *   npx tsx bench/cluster.ts [--connections 32] [--seconds 6] [--instances 3] [--rounds 1] [--pair-only] [--profile] [--json out.json]
 *
 * `--rounds N` measures the SQLite/PostgreSQL pair N times, alternating which goes first, and reports
 * each round's ratio (the machine is shared: neighbours' load shifts between rows, so the pair is
 * only comparable within a round). `--pair-only` skips the HAProxy rows. `--profile` runs each
 * single instance under `node --cpu-prof` and prints where its CPU time went.
 *
 * On a 2-core machine the curve flattens early: the load generator, HAProxy, PostgreSQL, the fake
 * upstream and every miprox process share the same two cores (the output prints the load average).
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { dropPostgresSchema } from '../src/store/postgres/postgresStore.js';
import { findHaproxy, startCluster } from '../test/helpers/cluster.js';
import { PG_URL, uniqueSchema } from '../test/helpers/postgres.js';
import { seedJobBody } from '../test/helpers/server.js';
import { formatProfile, summarizeProfile } from './lib/cpuProfile.js';
import { backendCpuMeter, cpuMeter, postgresCpuMeter } from './lib/procCpu.js';
import pg from 'pg';
import type { LoadResult } from './lib/loadClient.js';
import { startMiprox } from './lib/miproxService.js';
import { spawnService } from './lib/processes.js';
import { concurrentPhase } from './lib/proxyPhases.js';
import { miproxTarget, smokeTest } from './lib/proxyTargets.js';
import { argValue, numberArg, table, verdictLines, type Verdict } from './lib/report.js';
import { fmtMs, fmtRate } from './lib/stats.js';

const LIB = join(import.meta.dirname, 'lib');
const PG_SHARE = 0.8;

async function main(): Promise<void> {
  const o = { connections: numberArg('--connections', 32), measureMs: numberArg('--seconds', 6) * 1000, warmupMs: 1500, instances: numberArg('--instances', 3), rounds: numberArg('--rounds', 1) };
  const pairOnly = process.argv.includes('--pair-only');
  const profile = process.argv.includes('--profile');
  const began = Date.now();
  console.log(`miprox scale-out benchmark: node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const fake = await spawnService({ name: 'fake upstream', args: ['--import', 'tsx', join(LIB, 'fakeUpstreamMain.ts')], ready: /fake upstream at (\S+)/ });
  const upstream = { OPENAI_BASE_URL: fake.ready, OPENAI_API_KEY: 'sk-bench' };
  const shape = { connections: o.connections, warmupMs: o.warmupMs, measureMs: o.measureMs };
  const rows: { name: string; load: LoadResult; cpu?: { miprox: number | null; postgres: number; backends: number | null } }[] = [];
  // Reads pg_stat_activity to find the instance's own backends (their CPU is the database's share).
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? (['sqlite', 'postgres'] as const) : (['postgres', 'sqlite'] as const);
      for (const db of order) {
        const schema = uniqueSchema('bench_single');
        const profDir = profile ? mkdtempSync(join(tmpdir(), `miprox-prof-${db}-`)) : null;
        const m = await startMiprox({
          upstreamUrl: fake.ready, nodeArgs: profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
          env: db === 'postgres' ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, PGAPPNAME: schema } : {},
        });
        try {
          const target = miproxTarget(m.origin, m.proxyPath, db);
          await smokeTest(target);
          console.log(`${db}: one instance, ${o.connections} connections, ${o.measureMs / 1000} s (round ${round}, load average ${loadavg()[0]!.toFixed(2)})...`);
          const meter = cpuMeter({ miprox: m.service.proc.pid });
          const pgMeter = postgresCpuMeter();
          const ownMeter = db === 'postgres' ? await backendCpuMeter((text, values) => admin.query<{ pid: number }>(text, values), schema) : null;
          const load = await concurrentPhase(target, shape);
          // Per request sent (warm-up included: the meters ran through it too).
          const perRequest = (ms: number | null) => (ms === null ? null : ms / Math.max(1, load.nextN));
          const cpu = { miprox: perRequest(meter.stop().miprox ?? null), postgres: perRequest(pgMeter.stop()) ?? 0, backends: ownMeter ? perRequest(await ownMeter.stop()) : null };
          rows.push({ name: `${db} (1 instance, direct)${o.rounds > 1 ? ` #${round}` : ''}`, load, cpu });
        } finally {
          await m.cleanup();
          if (db === 'postgres') await dropPostgresSchema(PG_URL, schema);
          if (profDir) printProfile(db, profDir);
        }
      }
    }
    if (pairOnly) console.log('--pair-only: the HAProxy rows are skipped');
    else if (!findHaproxy()) console.log('haproxy is not installed: the scale-out rows are skipped (apt-get install -y haproxy)');
    else {
      for (let n = 1; n <= o.instances; n++) {
        const schema = uniqueSchema('bench_cluster');
        const key = `bench_${randomBytes(16).toString('hex')}`;
        const cluster = await startCluster({ instances: n, pgUrl: PG_URL, schema, key, env: upstream });
        try {
          const res = await fetch(`${cluster.url}/api/policy-optimization/online/jobs`, {
            method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(seedJobBody({ provider: 'openai', proposerProvider: 'openai', initialPrompt: 'You are a helpful assistant.' })),
          });
          const job = (await res.json()) as { proxy_url: string };
          const target = miproxTarget(cluster.url, new URL(job.proxy_url).pathname, `x${n}`);
          await smokeTest(target);
          console.log(`haproxy x${n}: ${n} PostgreSQL instance(s) behind HAProxy, ${o.connections} connections, ${o.measureMs / 1000} s...`);
          rows.push({ name: `haproxy x${n} (PostgreSQL)`, load: await concurrentPhase(target, shape) });
        } finally {
          await cluster.close();
          await dropPostgresSchema(PG_URL, schema);
        }
      }
    }
  } finally {
    await fake.stop();
    await admin.end();
  }

  console.log('');
  const cpuCell = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : `${ms.toFixed(3)} ms`);
  console.log(table(
    ['setup', 'req/s', 'p50', 'p99', 'errors', 'miprox CPU/req', 'its PG backends CPU/req', 'all PG processes CPU/req'],
    rows.map((r) => [r.name, fmtRate(r.load.rps), fmtMs(r.load.latency.p50), fmtMs(r.load.latency.p99), String(r.load.errors), cpuCell(r.cpu?.miprox), cpuCell(r.cpu?.backends), cpuCell(r.cpu?.postgres)]),
  ));
  const sqlites = rows.filter((r) => r.name.startsWith('sqlite')).map((r) => r.load);
  const pgs = rows.filter((r) => r.name.startsWith('postgres')).map((r) => r.load);
  const verdicts: Verdict[] = sqlites.map((sqlite, i) => {
    const pg = pgs[i];
    return {
      target: `proxy throughput on PostgreSQL >= ${PG_SHARE}x SQLite's (one instance each, same run${o.rounds > 1 ? `, round ${i + 1}` : ''})`,
      measured: pg ? `${fmtRate(pg.rps)} vs ${fmtRate(sqlite.rps)} = ${(pg.rps / sqlite.rps).toFixed(2)}x` : 'not measured',
      met: pg ? pg.rps >= PG_SHARE * sqlite.rps && pg.errors === 0 : null,
    };
  });
  console.log(`\nTargets:\n${verdictLines(verdicts)}`);
  // On a saturated machine throughput follows CPU per request, which moves much less with the
  // neighbours' load than req/s does: SQLite's miprox CPU over PostgreSQL's miprox + own backends.
  const sqliteCpu = rows.filter((r) => r.name.startsWith('sqlite')).map((r) => r.cpu);
  const pgCpu = rows.filter((r) => r.name.startsWith('postgres')).map((r) => r.cpu);
  sqliteCpu.forEach((s, i) => {
    const p = pgCpu[i];
    if (s?.miprox == null || p?.miprox == null || p.backends == null) return;
    console.log(`CPU per request, round ${i + 1}: SQLite ${s.miprox.toFixed(3)} ms, PostgreSQL ${p.miprox.toFixed(3)} + ${p.backends.toFixed(3)} ms (miprox + its backends): ratio ${(s.miprox / (p.miprox + p.backends)).toFixed(2)}x`);
  });
  const curve = rows.filter((r) => r.name.startsWith('haproxy'));
  if (curve.length) console.log(`scale-out curve (req/s by instances): ${curve.map((r, i) => `${i + 1}: ${fmtRate(r.load.rps)}`).join(', ')}`);
  const jsonOut = argValue('--json');
  if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ options: o, rows, verdicts, machine: { cpus: cpus().length, node: process.version, loadavg: loadavg() } }, null, 2)}\n`);
  console.log(`\ntotal run time ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

function printProfile(db: string, dir: string): void {
  // One profile per thread; the main thread's has thread id 0 (CPU.<date>.<time>.<pid>.0.<seq>).
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const file = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  if (file) console.log(`\n${db}:\n${formatProfile(summarizeProfile(join(dir, file)))}\n(profile: ${join(dir, file)})\n`);
  else console.log(`\n${db}: no CPU profile was written in ${dir}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
