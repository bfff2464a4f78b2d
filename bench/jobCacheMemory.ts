/**
 * Job cache memory soak (`npm run bench:memory`): the JavaScript heap after garbage collection,
 * before and after many busy jobs, with and without JOB_CACHE_MAX_ROLLOUTS binding. Two parts:
 *
 * - engine: the engine's cache alone (OnlineEngine over an in-memory store), many jobs used in turn,
 *   each remembering `--per-job` rollouts (ids of 36 characters, as a client's UUID; `--unrewarded`
 *   of them stay in flight): the scale of the problem (hundreds of jobs times 20,000 rollouts) in a minute;
 * - server: a real miprox server (SQLite file, sim policy, no proposals), `--jobs`
 *   jobs each with `--calls` proxied calls and the rewards of all but `--unrewarded` of them, over HTTP.
 *
 * Each row runs in a process of its own (see `one`).
 *
 *   node --expose-gc --import tsx bench/jobCacheMemory.ts [--part both|engine|server]
 *     [--engine-jobs 500] [--per-job 20000] [--jobs 20] [--calls 3000] [--unrewarded 0.1]
 *     [--server-budget 20000] [--connections 16]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { OnlineEngine } from '../src/optimizer/runner/engine.js';
import { DEFAULT_JOB_CACHE_MAX_ROLLOUTS } from '../src/optimizer/runner/rolloutTally.js';
import { createSeededRng } from '../src/shared/rng.js';
import { silentLogger } from '../src/shared/logger.js';
import type { CandidateRecord, JobRecord, Store } from '../src/store/types.js';
import { sampleConfig } from '../test/store/storeContract.js';
import { api, simJobBody, startTestServer } from '../test/helpers/server.js';
import { argValue, numberArg, table } from './lib/report.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:memory does)');
const MB = 1024 * 1024;
const heapAfterGc = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const mb = (bytes: number) => (bytes / MB).toFixed(0);
const UNBOUNDED = 100_000_000;

interface Row { part: string; budget: number; rollouts: number; before: number; after: number; jobs: number; cached: number; seconds: number; cachedJobs?: number }

async function engineSoak(budget: number, jobCount: number, perJob: number, unrewarded: number): Promise<Row> {
  const jobs = new Map(Array.from({ length: jobCount }, (_, i) => {
    const job = { id: `pl_${i}`, systemId: `sys_${i}`, config: sampleConfig, status: 'running' } as unknown as JobRecord;
    return [job.systemId, job] as const;
  }));
  const baseline = { jobId: '', id: 'baseline', parentId: null, status: 'active', instruction: 'x', module: null, instructions: {}, demos: {}, tip: null, proposalId: null,
    ordinal: 0, dispatches: 0, online: { n: 0, mean: 0, m2: 0 }, rewardsInUnitInterval: true, val: { n: 0, mean: 0, m2: 0 },
    monitor: { n: 0, mean: 0, m2: 0 }, monitorInUnitInterval: true, createdAt: '', retiredAt: null } as CandidateRecord;
  const store = {
    getJob: async (id: string) => jobs.get(id.replace('pl_', 'sys_')) ?? null,
    getJobBySystemId: async (sys: string) => jobs.get(sys) ?? null,
    listCandidates: async (jobId: string) => [{ ...baseline, jobId }],
    listModules: async () => [],
    onlineSeedCells: async () => new Map(),
    monitorSeedCells: async () => new Map(),
  } as unknown as Store;
  let now = 0;
  const engine = new OnlineEngine(
    { store, clock: { now: () => now }, rng: createSeededRng(1), log: silentLogger, finishJob: async () => {}, propose: async () => {} },
    { cacheTtlMs: 1e12, inFlightTtlMs: 600_000, maxCachedRollouts: budget },
  );
  const before = heapAfterGc();
  const t0 = Date.now();
  const keepEvery = Math.round(1 / unrewarded);
  // Flat 36-character ids (as JSON.parse makes them), from a pool of random bytes.
  let pool = randomBytes(1 << 20);
  let offset = 0;
  const newId = (): string => {
    if (offset + 18 > pool.length) [pool, offset] = [randomBytes(1 << 20), 0];
    offset += 18;
    return pool.toString('hex', offset - 18, offset);
  };
  // Every job busy: one rollout each in turn, a millisecond per turn (nothing goes idle).
  for (let i = 0; i < perJob; i++) {
    now += 1;
    for (const systemId of jobs.keys()) {
      const rt = engine.freshRuntimeForSystem(systemId) ?? (await engine.runtimeForSystem(systemId))!;
      const id = newId();
      rt.remember(id, { candidateId: 'baseline', split: 'online', seed: i % 50 });
      rt.startInFlight(id, 'baseline', now);
      if (i % keepEvery !== 0) rt.endInFlight(id);
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  const after = heapAfterGc();
  return { part: 'engine', budget, rollouts: jobCount * perJob, before, after, jobs: jobCount, cached: engine.cachedRolloutCount, seconds };
}

async function serverSoak(budget: number, jobCount: number, calls: number, unrewarded: number, connections: number): Promise<Row> {
  const t = await startTestServer({ env: { JOB_CACHE_MAX_ROLLOUTS: String(budget) } });
  try {
    const sessions: { systemId: string; proxyUrl: string }[] = [];
    for (let j = 0; j < jobCount; j++) {
      const created = await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1_000_000_000 }, 'Answer the question concisely.') } });
      if (created.status !== 200) throw new Error(`session creation failed: ${created.status} ${JSON.stringify(created.body)}`);
      sessions.push({ systemId: created.body.session_id, proxyUrl: created.body.proxy_url });
    }
    const before = heapAfterGc();
    const t0 = Date.now();
    const keepEvery = Math.round(1 / unrewarded);
    const body = JSON.stringify({ messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    let next = 0;
    const total = jobCount * calls;
    // Jobs in turn (every job busy), `connections` requests at a time.
    const worker = async () => {
      while (next < total) {
        const n = next++;
        const s = sessions[n % jobCount]!;
        const rollout = randomUUID();
        const res = await fetch(`${s.proxyUrl}/${rollout}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await res.text();
        if (res.status !== 200) throw new Error(`call failed: ${res.status}`);
        if (Math.floor(n / jobCount) % keepEvery === 0) continue; // stays in flight
        const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${s.systemId}/reward`, { key: t.key, body: { rollout_id: rollout, reward_info: { score: 1 } } });
        if (reward.status !== 200) throw new Error(`reward failed: ${reward.status} ${JSON.stringify(reward.body)}`);
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
    const seconds = (Date.now() - t0) / 1000;
    const after = heapAfterGc();
    const metrics = (await api(t.url, 'GET', '/metrics')).body as string;
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    return { part: 'server', budget, rollouts: total, before, after, jobs: jobCount, cached: gauge('miprox_cached_rollouts'), cachedJobs: gauge('miprox_cached_jobs'), seconds };
  } finally {
    await t.close();
  }
}

/** One configuration, in a process of its own: a closed server stays reachable (prom-client's default metrics keep its registry), so a second one in the same process would start on the first one's heap. */
async function one(spec: string): Promise<Row> {
  const [part, budgetText] = spec.split(':');
  const budget = Number(budgetText);
  const unrewarded = numberArg('--unrewarded', 0.1);
  if (part === 'engine') return engineSoak(budget, numberArg('--engine-jobs', 500), numberArg('--per-job', 20_000), unrewarded);
  const connections = numberArg('--connections', 16);
  // One unmeasured round first: the code the server compiles and its first caches are not the job cache.
  await serverSoak(UNBOUNDED, 2, 300, unrewarded, connections);
  return serverSoak(budget, numberArg('--jobs', 20), numberArg('--calls', 3000), unrewarded, connections);
}

function runChild(spec: string): Row {
  const args = [...process.execArgv, process.argv[1]!, ...process.argv.slice(2), '--one', spec];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`no result from ${spec}: ${out}`);
  return JSON.parse(line.slice('RESULT '.length)) as Row;
}

async function main(): Promise<void> {
  const single = argValue('--one');
  if (single !== undefined) {
    console.log(`RESULT ${JSON.stringify(await one(single))}`);
    return;
  }
  const part = argValue('--part') ?? 'both';
  const budgetName = (b: number) => (b === UNBOUNDED ? `${UNBOUNDED.toLocaleString('en')} (no bound in reach)` : b.toLocaleString('en'));
  const specs: string[] = [];
  if (part === 'both' || part === 'engine') specs.push(`engine:${UNBOUNDED}`, `engine:${DEFAULT_JOB_CACHE_MAX_ROLLOUTS}`);
  if (part === 'both' || part === 'server') specs.push(`server:${UNBOUNDED}`, `server:${numberArg('--server-budget', 20_000)}`);
  console.log(`job cache memory soak: node ${process.version}; heap = V8 heapUsed after two full GCs; each row in a process of its own`);
  const rows: Row[] = [];
  for (const spec of specs) {
    const [which, budget] = spec.split(':');
    const size = which === 'engine'
      ? `${numberArg('--engine-jobs', 500)} jobs x ${numberArg('--per-job', 20_000)} rollouts`
      : `${numberArg('--jobs', 20)} jobs x ${numberArg('--calls', 3000)} proxied calls`;
    console.log(`${which}: ${size}, JOB_CACHE_MAX_ROLLOUTS=${budgetName(Number(budget))}...`);
    const row = runChild(spec);
    if (row.cachedJobs !== undefined) console.log(`  miprox_cached_jobs ${row.cachedJobs}, miprox_cached_rollouts ${row.cached}`);
    rows.push(row);
  }
  console.log('');
  console.log(table(
    ['part', 'JOB_CACHE_MAX_ROLLOUTS', 'rollouts made', 'cached rollouts', 'heap before (MB)', 'heap after (MB)', 'growth (MB)', 'bytes per cached rollout', 's'],
    rows.map((r) => [
      r.part, budgetName(r.budget), r.rollouts.toLocaleString('en'), r.cached.toLocaleString('en'), mb(r.before), mb(r.after), mb(r.after - r.before),
      r.cached > 0 ? ((r.after - r.before) / r.cached).toFixed(0) : '-', r.seconds.toFixed(1),
    ]),
  ));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
