/**
 * Proxy overhead and throughput benchmark (`npm run bench:proxy`). In one run, against one fake
 * OpenAI upstream (its own process, static cached JSON answer), it measures:
 *   direct   client -> fake
 *   bare     client -> a bare node:http + undici pass-through proxy (own process) -> fake: the floor
 *   miprox   client -> `miprox serve` (own process, SQLite file, a new rollout id per request) -> fake
 *   portkey  client -> @portkey-ai/gateway Node server (own process, loopback) -> fake
 * sequentially (1 keep-alive connection, interleaved rounds) and at N concurrent connections (a separate
 * load-generator process), then prints latencies, overhead vs direct, req/s, ratios and the targets.
 *
 *   npx tsx bench/proxy.ts [--requests 2000] [--warmup 300] [--rounds 10] [--connections 32]
 *                          [--seconds 8] [--pg-rounds 3 | --no-pg-pair] [--profile] [--json out.json]
 *
 * It also measures the API surfaces side by side (surfaceRows.ts): chat completions, Responses and
 * Messages, native and translated, non-streaming and streaming time to first byte, each against the
 * same API direct. `--surfaces-only` runs just that table (faster); `--surface-requests 600`.
 *
 * It ends with the SQLite / PostgreSQL pair (`--pg-rounds`; `--no-pg-pair` skips it): PostgreSQL's proxy
 * throughput against SQLite's, one fresh instance each (issue 18's 0.8x target).
 *
 * `--programs` adds what a declared program costs per call (programCost.ts: 16 templated modules,
 * matched and unmatched calls, against the one-module job; ~50 s more); `--programs-only` runs just
 * that (with `--profile`, the profile is of those calls alone).
 *
 * --profile runs the miprox process under `node --cpu-prof` and prints where its CPU time went.
 * Exit code is 0 even when a target is missed (the output says MISSED); 1 only if it could not run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProfile, mainThreadProfile, summarizeProfile } from './lib/cpuProfile.js';
import { cpuMeter } from './lib/procCpu.js';
import type { LoadResult } from './lib/loadClient.js';
import { jobCounters, scrapeMetrics, startMiprox, type MiproxUnderTest } from './lib/miproxService.js';
import { spawnService, type Service } from './lib/processes.js';
import { diffHistogram, histogramQuantile, parseHistogram, type HistogramSnapshot } from './lib/promHistogram.js';
import { concurrentPhase, sequentialPhase } from './lib/proxyPhases.js';
import { bareTarget, CHAT_BODY, directTarget, miproxTarget, portkeyTarget, smokeTest, type Target } from './lib/proxyTargets.js';
import { argValue, numberArg, table, verdictLines } from './lib/report.js';
import { printSurfaceReport, surfacePhase, surfaceRows } from './lib/surfaceRows.js';
import { printProxyReport } from './lib/proxyReport.js';
import { printProgramCost, programCases, programCostPhase, type ProgramCostRow } from './lib/programCost.js';
import { measurePairs, pairVerdicts, type PairRow } from './lib/storePair.js';
import { fmtMs, fmtRate } from './lib/stats.js';

const LIB = join(import.meta.dirname, 'lib');
const OVERHEAD_METRIC = 'miprox_proxy_overhead_seconds';
/** The default run takes ~70 s; the bound grows only if --requests or --seconds ask for more work. */
const WATCHDOG_MS = 175_000;
/** A SQLite / PostgreSQL pair round: two fresh servers, 1.5 s warm-up and 6 s each, with startup. */
const PAIR_ROUND_MS = 40_000;

async function main(): Promise<void> {
  const o = {
    requests: numberArg('--requests', 2000),
    warmup: numberArg('--warmup', 300),
    rounds: numberArg('--rounds', 10),
    connections: numberArg('--connections', 32),
    measureMs: numberArg('--seconds', 8) * 1000,
    warmupMs: 1500,
    profile: process.argv.includes('--profile'),
    surfacesOnly: process.argv.includes('--surfaces-only'),
    programsOnly: process.argv.includes('--programs-only'),
    programs: process.argv.includes('--programs') || process.argv.includes('--programs-only'),
    surfaceRequests: numberArg('--surface-requests', 600),
    pgRounds: process.argv.includes('--no-pg-pair') ? 0 : numberArg('--pg-rounds', 3),
  };
  const began = Date.now();
  const services: Array<Service | MiproxUnderTest> = [];
  // The run must stay bounded even if a server under test hangs: kill what we started and fail.
  const bound = WATCHDOG_MS * Math.max(1, o.requests / 2000, o.measureMs / 8000) * (o.programs ? 2 : 1) + o.pgRounds * PAIR_ROUND_MS;
  const watchdog = setTimeout(() => {
    console.log(`ABORTED: the run exceeded ${(bound / 1000).toFixed(0)} s`);
    for (const s of services) ('cleanup' in s ? s.service : s).proc.kill('SIGKILL');
    process.exit(1);
  }, bound);
  watchdog.unref();
  const profDir = o.profile ? mkdtempSync(join(tmpdir(), 'miprox-prof-')) : null;
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`miprox proxy benchmark: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${load}`);
  try {
    const fake = await spawnService({ name: 'fake upstream', args: ['--import', 'tsx', join(LIB, 'fakeUpstreamMain.ts')], ready: /fake upstream at (\S+)/ });
    services.push(fake);
    const upstreamUrl = fake.ready;
    const fakeAnthropic = await spawnService({ name: 'fake anthropic', args: ['--import', 'tsx', join(LIB, 'fakeAnthropicMain.ts')], ready: /fake anthropic at (\S+)/ });
    services.push(fakeAnthropic);
    const miprox = await startMiprox({
      upstreamUrl, nodeArgs: profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
      env: { ANTHROPIC_BASE_URL: fakeAnthropic.ready, ANTHROPIC_API_KEY: 'sk-ant-bench', MIPROX_ALLOWED_INFERENCE_HOSTS: new URL(upstreamUrl).host },
    });
    services.push(miprox);
    const rows = await surfaceRows(miprox, { openaiUrl: upstreamUrl, anthropicUrl: fakeAnthropic.ready });
    const runSurfaces = async () => {
      console.log(`surfaces: ${o.surfaceRequests} JSON + ${o.surfaceRequests} streaming requests per path and row, 1 connection each, interleaved rounds...`);
      const cells = await surfacePhase(rows, { requests: o.surfaceRequests, warmup: 100, rounds: 6, miproxPid: miprox.service.proc.pid });
      return printSurfaceReport(rows, cells);
    };
    // After the main job's phases (its rollout count is checked against what they sent).
    const runPrograms = async (): Promise<ProgramCostRow[]> => {
      const cases = await programCases(miprox, CHAT_BODY);
      const d = directTarget(upstreamUrl);
      console.log(`\nprograms: ${cases.length} cases, ${o.requests} sequential requests each in ${o.rounds} interleaved rounds after ${o.warmup} warm-up, then ${o.connections} connections for ${o.measureMs / 1000} s each...`);
      const rowsOut = await programCostPhase(miprox, cases, { origin: d.origin, path: d.pathTemplate, headers: d.headers }, o);
      printProgramCost(rowsOut, o);
      return rowsOut;
    };
    if (o.programsOnly) {
      const programs = await runPrograms();
      for (const s of services.splice(0).reverse()) await stopService(s);
      if (profDir) printProfile(profDir);
      const jsonOut = argValue('--json');
      if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ programs, machine: { cpus: cpus().length, node: process.version, loadavg: load } }, null, 2)}\n`);
      console.log(`\ntotal run time ${((Date.now() - began) / 1000).toFixed(0)} s`);
      return;
    }
    if (o.surfacesOnly) {
      const surfaces = await runSurfaces();
      const jsonOut = argValue('--json');
      if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ surfaces, machine: { cpus: cpus().length, node: process.version, loadavg: load } }, null, 2)}\n`);
      console.log(`\ntotal run time ${((Date.now() - began) / 1000).toFixed(0)} s`);
      return;
    }
    const bare = await spawnService({ name: 'bare proxy', args: ['--import', 'tsx', join(LIB, 'bareProxyMain.ts'), upstreamUrl], ready: /bare proxy listening on (http:\/\/\S+)/ });
    services.push(bare);
    const { portkey, portkeyProblem } = await startPortkey(upstreamUrl);
    if (portkey) services.push(portkey);

    const direct = directTarget(upstreamUrl);
    const viaBare = bareTarget(bare.ready);
    const viaMiprox = miproxTarget(miprox.origin, miprox.proxyPath, 'seq');
    const viaPortkey = portkey ? portkeyTarget(portkey.ready, upstreamUrl) : null;
    for (const t of [direct, viaBare, viaMiprox]) await smokeTest(t);
    const seqTargets: Target[] = [direct, viaBare, viaMiprox, ...(viaPortkey ? [viaPortkey] : [])];

    console.log(`sequential: ${o.requests} requests per target on 1 connection after ${o.warmup} warm-up, ${o.rounds} interleaved rounds...`);
    const pids = { direct: fake.proc.pid, bare: bare.proc.pid, miprox: miprox.service.proc.pid, portkey: portkey?.proc.pid };
    let histBeforeSeq: HistogramSnapshot | null = null;
    let seqMeter: ReturnType<typeof cpuMeter> | null = null;
    const seq = await sequentialPhase(seqTargets, {
      requests: o.requests, warmup: o.warmup, rounds: o.rounds,
      onWarm: async () => {
        histBeforeSeq = parseHistogram(await scrapeMetrics(miprox), OVERHEAD_METRIC);
        seqMeter = cpuMeter({ bare: pids.bare, miprox: pids.miprox, portkey: pids.portkey });
      },
    });
    const seqCpu = (seqMeter as ReturnType<typeof cpuMeter> | null)?.stop() ?? {};
    const histAfterSeq = parseHistogram(await scrapeMetrics(miprox), OVERHEAD_METRIC);
    const surfaces = await runSurfaces();
    // The surfaces rows ran in between: the concurrent phase's server-side numbers start after them.
    const histBeforeConc = parseHistogram(await scrapeMetrics(miprox), OVERHEAD_METRIC);

    console.log(`concurrent: ${o.connections} connections, ${o.measureMs / 1000} s after ${o.warmupMs / 1000} s warm-up, load generator in its own process...`);
    const conc = new Map<Target['name'], LoadResult>();
    const concCpu: Partial<Record<Target['name'], number | null>> = {};
    const shape = { connections: o.connections, warmupMs: o.warmupMs, measureMs: o.measureMs };
    // CPU of the process doing the target's work (direct: the fake itself) over everything it served.
    const measureConc = async (t: Target) => {
      const meter = cpuMeter({ server: pids[t.name] });
      const result = await concurrentPhase(t, shape);
      const used = meter.stop().server ?? null;
      conc.set(t.name, result);
      concCpu[t.name] = used === null ? null : used / Math.max(1, result.nextN);
    };
    await measureConc(direct);
    await measureConc(viaBare);
    await measureConc(miproxTarget(miprox.origin, miprox.proxyPath, 'conc'));
    const histAfterConc = parseHistogram(await scrapeMetrics(miprox), OVERHEAD_METRIC);
    if (viaPortkey) await measureConc(viaPortkey);

    const counters = await jobCounters(miprox);
    const sentThroughMiprox = 1 + (seq.get('miprox')?.sent ?? 0) + (conc.get('miprox')?.nextN ?? 0);
    const serverSide = {
      sequential: histAfterSeq ? diffHistogram(histAfterSeq, histBeforeSeq) : null,
      concurrent: histAfterConc && histBeforeConc ? diffHistogram(histAfterConc, histBeforeConc) : null,
    };
    const report = printProxyReport({
      options: o, seq, conc, portkeyProblem, serverSide,
      persisted: { rollouts: counters.rolloutCount, sent: sentThroughMiprox },
      cpuMsPerRequest: {
        sequential: {
          bare: perRequest(seqCpu.bare, o.requests, o.rounds),
          miprox: perRequest(seqCpu.miprox, o.requests, o.rounds),
          portkey: perRequest(seqCpu.portkey, o.requests, o.rounds),
        },
        concurrent: concCpu,
      },
      quantile: histogramQuantile,
    });

    const programs = o.programs ? await runPrograms() : null;
    const complaints = miprox.service.output().split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    console.log(complaints.length ? `miprox logged ${complaints.length} warnings/errors (last kept lines), e.g.: ${complaints.at(-1)?.slice(0, 300)}` : 'miprox logged no warnings or errors');
    // The store pair gets the machine to itself: only the fake upstream (started first) keeps running.
    for (const s of services.splice(1).reverse()) await stopService(s);
    const pair = await measureStorePair(upstreamUrl, o);
    for (const s of services.splice(0)) await stopService(s);
    if (profDir) printProfile(profDir);
    const jsonOut = argValue('--json');
    if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ ...report, surfaces, ...(programs ? { programs } : {}), storePair: pair, machine: { cpus: cpus().length, node: process.version, loadavg: load } }, null, 2)}\n`);
    console.log(`\ntotal run time ${((Date.now() - began) / 1000).toFixed(0)} s`);
  } finally {
    clearTimeout(watchdog);
    for (const s of services.reverse()) await stopService(s);
  }
}

/**
 * PostgreSQL against SQLite (issue 18: >= 0.8x), each a fresh `miprox serve` measured alone at the
 * same concurrency, in rounds alternating which goes first (bench/lib/storePair.ts; bench:cluster
 * runs the same pair and the scale-out rows). Skipped with a reason when PostgreSQL is unreachable.
 */
async function measureStorePair(upstreamUrl: string, o: { connections: number; pgRounds: number }): Promise<PairRow[] | null> {
  if (o.pgRounds <= 0) return null;
  console.log(`\nstore pair: SQLite vs PostgreSQL, ${o.pgRounds} round(s) of one fresh instance each, ${o.connections} connections, 6 s...`);
  let rows: PairRow[];
  try {
    rows = await measurePairs({ upstreamUrl, shape: { connections: o.connections, warmupMs: 1500, measureMs: 6000 }, rounds: o.pgRounds });
  } catch (err) {
    console.log(`POSTGRESQL PAIR NOT MEASURED: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    return null;
  }
  console.log(table(['setup', 'req/s', 'p50', 'p99', 'errors'], rows.map((r) => [r.name, fmtRate(r.load.rps), fmtMs(r.load.latency.p50), fmtMs(r.load.latency.p99), String(r.load.errors)])));
  const { verdicts, cpuLines } = pairVerdicts(rows);
  console.log(`\nTargets (store pair):\n${verdictLines(verdicts)}`);
  for (const line of cpuLines) console.log(line);
  return rows;
}

/** Portkey is optional for the run: if it cannot start or route, say exactly why and go on without it. */
async function startPortkey(upstreamUrl: string): Promise<{ portkey: Service | null; portkeyProblem: string | null }> {
  let portkey: Service | null = null;
  try {
    portkey = await spawnService({ name: 'portkey', args: ['--import', 'tsx', join(LIB, 'portkeyMain.ts')], ready: /portkey listening on (http:\/\/\S+)/ });
    await smokeTest(portkeyTarget(portkey.ready, upstreamUrl));
    return { portkey, portkeyProblem: null };
  } catch (err) {
    if (portkey) await portkey.stop();
    const problem = err instanceof Error ? err.message : String(err);
    console.log(`PORTKEY NOT MEASURED: ${problem}`);
    return { portkey: null, portkeyProblem: problem.split('\n')[0] ?? problem };
  }
}

/** CPU ms over the measured sequential requests (rounds round the count up). */
function perRequest(cpuMs: number | null | undefined, requests: number, rounds: number): number | null {
  if (cpuMs === null || cpuMs === undefined) return null;
  return cpuMs / (Math.ceil(requests / rounds) * rounds);
}

async function stopService(s: Service | MiproxUnderTest): Promise<void> {
  if ('cleanup' in s) await s.cleanup();
  else await s.stop();
}

function printProfile(dir: string): void {
  const file = mainThreadProfile(dir);
  if (!file) {
    console.log(`\nno CPU profile was written in ${dir}`);
    return;
  }
  console.log(`\n${formatProfile(summarizeProfile(file))}\n(profile: ${file}; open it in Chrome DevTools > Performance)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
