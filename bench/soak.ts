/**
 * Soak / leak hunt: `miprox serve` in its own process (SQLite file, or PostgreSQL with a fresh schema)
 * against fake upstreams on loopback, under a mixed load for N minutes; every SAMPLE_S seconds it
 * records the server's RSS, heap, open fds, active handles, cached jobs/rollouts and the database's
 * size and row counts, to a CSV (SOAK_OUT; default in the run's temporary directory). After the load
 * every job left is cancelled and deleted and the server idles 90 s, so what it still holds shows.
 * Run: `npx tsx bench/soak.ts sqlite 20` or `... pg 20` (PostgreSQL at 127.0.0.1:5432, db test).
 * The server runs with --heapsnapshot-signal=SIGUSR2: `kill -USR2 <pid>` writes a heap snapshot into
 * the run's directory (the snapshot itself grows the RSS for good: leave it out of RSS curves).
 * SOAK_KEEP=1 leaves the server running after the report (for a snapshot of it idle).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import Database from 'better-sqlite3';
import { startFakeUpstream, lastUserMessageOf, type FakeUpstream } from '../test/fakes/fakeUpstream.js';
import { startFakeAnthropic } from '../test/fakes/fakeAnthropic.js';
import { spawnService } from './lib/processes.js';

const kind = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'pg';
const minutes = Number(process.argv[3] ?? 20);
const SAMPLE_S = Number(process.env.SAMPLE_S ?? 30);
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const BIN = join(import.meta.dirname, '..', 'bin', 'miprox.js');

const tagged = (tag: string) => (req: Parameters<typeof lastUserMessageOf>[0]) => lastUserMessageOf(req).includes(tag);
const ups: Record<string, FakeUpstream> = {
  slow: await startFakeUpstream({ record: false, reply: 'Paris is the capital of France.', chunks: 8, chunkDelayMs: 60, delayMs: 200, onlyFor: tagged('#slow') }),
  drop: await startFakeUpstream({ record: false, reply: 'Paris is the capital of France.', chunks: 8, dropAfterChunks: 3, onlyFor: tagged('#drop') }),
  fail: await startFakeUpstream({ record: false, reply: 'Paris.', fail: { status: 500 }, onlyFor: tagged('#fail') }),
  hang: await startFakeUpstream({ record: false, reply: 'Paris.', hang: true, onlyFor: tagged('#hang') }),
};
const anth = await startFakeAnthropic({ record: false, reply: 'Paris.', chunks: 6, chunkDelayMs: 40, onlyFor: tagged('#slow') });

const dir = mkdtempSync(join(tmpdir(), 'miprox-soak-'));
const dbPath = join(dir, 'miprox.db');
const OUT = process.env.SOAK_OUT ?? join(dir, `soak-${kind}.csv`);
const schema = `soak_${randomBytes(4).toString('hex')}`;
const apiKey = `soak_${randomBytes(16).toString('hex')}`;
const env: Record<string, string> = {
  PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', MIPROX_API_KEY: apiKey,
  OPENAI_BASE_URL: ups.slow!.url, OPENAI_API_KEY: 'sk-soak', ANTHROPIC_BASE_URL: anth.url, ANTHROPIC_API_KEY: 'sk-ant-soak',
  MIPROX_ALLOWED_INFERENCE_HOSTS: '127.0.0.1', UPSTREAM_TIMEOUT_MS: '3000',
  ...(kind === 'pg' ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema } : { DATABASE_URL: dbPath }),
};
const service = await spawnService({ name: 'miprox', args: ['--heapsnapshot-signal=SIGUSR2', BIN, 'serve'], env, ready: /listening on (http:\/\/\S+)/, cwd: dir });
const origin = service.ready;
const pid = service.proc.pid!;
console.log(`miprox pid ${pid} at ${origin}, ${kind} ${kind === 'pg' ? schema : dbPath}, snapshots in ${dir}`);

const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
const JOBS = `${origin}/api/policy-optimization/online/jobs`;
const SESS = `${origin}/api/v1/online/sessions`;
const stats: Record<string, number> = {};
const count = (k: string) => (stats[k] = (stats[k] ?? 0) + 1);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The JSON answer's fields the load reads (every answer is an object or not read). */
type Answer = Record<string, unknown> | null;
const str = (a: Answer, key: string): string | undefined => (typeof a?.[key] === 'string' ? (a[key] as string) : undefined);

async function api(method: string, url: string, body?: unknown): Promise<{ status: number; json: Answer }> {
  try {
    const res = await fetch(url, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    count(`${method} ${res.status}`);
    if (res.status >= 500) count(`5xx ${url.replace(origin, '').replace(/pl_[a-z0-9]+/gi, ':id').split('?')[0]} ${text.slice(0, 80)}`);
    let json: Answer = null;
    try { json = JSON.parse(text) as Answer; } catch { /* not json */ }
    return { status: res.status, json };
  } catch (err) {
    count(`api error ${(err as Error).name}`);
    return { status: 0, json: null };
  }
}

interface Job { id: string; systemId: string; proxy: string; modules: string[]; provider: string; n: number }
const live: Job[] = [];
/** Two workers may end the same job: only the first takes it out (splice(-1) would drop another one). */
const forget = (job: Job): void => {
  const i = live.indexOf(job);
  if (i >= 0) live.splice(i, 1);
};

const MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];
const SINGLE = 'You are a helpful assistant.';

async function createJob(): Promise<void> {
  const shape = pick(['single', 'program', 'discover']);
  const upstream = pick(['slow', 'drop', 'fail', 'hang', 'openai', 'anthropic']);
  const policy: Record<string, unknown> = upstream === 'openai' ? { provider: 'openai', model: 'gpt-4o-mini' }
    : upstream === 'anthropic' ? { provider: 'anthropic', model: 'claude-3-5-haiku-latest' }
    : { provider: 'openai_compatible', model: 'm', inference_url: ups[upstream]!.url };
  const body = {
    policy_optimization: {
      algorithm: 'mipro', task_app_url: 'https://app.example.com',
      policy: { ...policy, temperature: 0, max_completion_tokens: 128 },
      mipro: {
        mode: 'online', bootstrap_train_seeds: [0, 1, 2, 3], val_seeds: [100, 101], online_pool: [0, 1, 2, 3, 4, 5],
        online_proposer_mode: 'inline', online_proposer_min_rollouts: 6, online_rollouts_per_candidate: 4,
        max_rollouts: 40 + Math.floor(Math.random() * 80),
        proposer: { mode: 'instruction_only', model: 'sim-proposer', provider: 'sim', temperature: 0.7, max_tokens: 256 },
      },
      ...(shape === 'single' ? { initial_prompt: { messages: [{ role: 'system', pattern: SINGLE, order: 0 }] } } : {}),
      ...(shape === 'program' ? { modules: MODULES } : {}),
    },
  };
  const r = await api('POST', JOBS, body);
  if (r.status !== 200) { count(`create failed ${r.status} ${JSON.stringify(r.json).slice(0, 100)}`); return; }
  const id = str(r.json, 'job_id'); const systemId = str(r.json, 'system_id'); const proxy = str(r.json, 'proxy_url');
  if (!id || !systemId || !proxy) return;
  live.push({ id, systemId, proxy, modules: shape === 'program' ? ['extract', 'answer'] : [SINGLE], provider: upstream, n: 0 });
  count('job created');
}

function systemText(job: Job, module: string): string {
  if (module === 'extract') return MODULES[0]!.template;
  if (module === 'answer') return `Answer from this context:\nThe context ${Math.floor(Math.random() * 5)}.`;
  return Math.random() < 0.9 ? SINGLE : `Answer briefly, variant ${Math.floor(Math.random() * 3)}.`;
}

/** One proxied call on a random surface, streaming or not; sometimes aborted mid-answer. */
async function call(job: Job, rolloutId: string, module: string): Promise<void> {
  const surface = pick(['chat', 'chat', 'responses', 'messages']);
  const stream = Math.random() < 0.5;
  const tag = pick(['', '', '', '#slow', '#slow', '#drop', '#fail', '#hang']);
  const user = `What is the capital of France? ${tag}`;
  const sys = systemText(job, module);
  const base = `${job.proxy}/${rolloutId}`;
  let url: string; let body: unknown;
  if (surface === 'chat') {
    url = `${base}/chat/completions`;
    body = { model: 'x', stream, messages: [{ role: 'system', content: sys }, { role: 'user', content: user }] };
  } else if (surface === 'responses') {
    url = `${base}/responses`;
    body = { model: 'x', stream, instructions: sys, input: user };
  } else {
    url = `${base}/messages`;
    body = { model: 'x', stream, max_tokens: 64, system: sys, messages: [{ role: 'user', content: user }] };
  }
  const ac = new AbortController();
  const abortAfter = Math.random() < 0.25 ? 50 + Math.random() * 400 : 6_000;
  const timer = setTimeout(() => ac.abort(), abortAfter);
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: ac.signal });
    const reader = res.body!.getReader();
    for (;;) { const { done } = await reader.read(); if (done) break; }
    count(`call ${surface} ${stream ? 'sse' : 'json'} ${res.status}`);
  } catch {
    count(`call ${surface} aborted`);
  } finally {
    clearTimeout(timer);
  }
}

async function reward(job: Job, rolloutId: string): Promise<void> {
  await api('POST', `${SESS}/${job.id}/reward`, { rollout_id: rolloutId, reward_info: { score: Math.random() < 0.5 ? 1 : 0, ...(Math.random() < 0.2 ? { feedback: 'ok' } : {}) } });
}

const late: Promise<unknown>[] = [];
async function rollout(job: Job): Promise<void> {
  let rolloutId = `r-${randomBytes(6).toString('hex')}`;
  if (Math.random() < 0.4) {
    const r = await api('POST', `${SESS}/${job.id}/rollouts`, {});
    rolloutId = (r.status === 200 ? str(r.json, 'rollout_id') : undefined) ?? rolloutId;
  }
  const calls = job.modules.length > 1 ? job.modules : [job.modules[0]!];
  for (const m of calls) await call(job, rolloutId, m);
  job.n++;
  const fate = Math.random();
  if (fate < 0.75) await reward(job, rolloutId);
  else if (fate < 0.87) late.push(sleep(5_000 + Math.random() * 20_000).then(() => reward(job, rolloutId)));
  // else: the reward never comes
}

async function poll(job: Job): Promise<void> {
  await api('GET', `${JOBS}/${job.id}`);
  await api('GET', `${SESS}/${job.systemId}/events?since_seq=0&limit=50`);
  if (Math.random() < 0.3) await api('GET', `${SESS}/${job.systemId}/proposals?limit=20`);
  if (Math.random() < 0.3) await api('GET', `${SESS}/${job.systemId}/rewards?limit=50`);
  if (Math.random() < 0.2) await api('GET', `${JOBS}?limit=50`);
  if (Math.random() < 0.1) await api('GET', `${JOBS}/${job.id}/export?format=json`);
  if (Math.random() < 0.1) await api('GET', `${origin}/`);
}

async function lifecycle(): Promise<void> {
  const job = pick(live);
  if (!job) return;
  const v = await api('GET', `${JOBS}/${job.id}`);
  const status = str(v.json, 'status');
  const roll = Math.random();
  if (status === 'running' && roll < 0.3) {
    await api('POST', `${JOBS}/${job.id}/pause`);
    await sleep(500);
    await api('POST', `${JOBS}/${job.id}/resume`);
  } else if (status === 'running' && roll < 0.5 && job.n > 15) {
    await api('POST', `${JOBS}/${job.id}/cancel`);
  } else if (status !== undefined && status !== 'running' && status !== 'paused') {
    const cands = (v.json?.candidates ?? []) as { candidate_id?: string; id?: string }[];
    const c = pick(cands);
    const cid = c?.candidate_id ?? c?.id;
    if (cid && Math.random() < 0.5) await api('POST', `${JOBS}/${job.id}/promote`, { candidate_id: cid });
    if (Math.random() < 0.85) {
      const d = await api('DELETE', `${JOBS}/${job.id}`);
      if (d.status === 200) { forget(job); count('job deleted'); }
    } else {
      forget(job); // kept ended, not deleted (its rows stay)
      count('job left ended');
    }
  } else if (status === undefined && v.status === 404) {
    forget(job);
  }
}

// ---- sampling ----
const pgClient = kind === 'pg' ? new pg.Client({ connectionString: PG_URL }) : null;
await pgClient?.connect();
const TABLES = ['jobs', 'candidates', 'rollouts', 'rollout_calls', 'rewards', 'events', 'proposals', 'modules', 'unmatched_prompts'];
async function dbFigures(): Promise<{ bytes: number; rows: Record<string, number> }> {
  const rows: Record<string, number> = {};
  if (pgClient) {
    for (const t of TABLES) {
      try { rows[t] = Number((await pgClient.query<{ n: string }>(`select count(*) n from "${schema}"."${t}"`)).rows[0]?.n); } catch { rows[t] = -1; }
    }
    const b = await pgClient.query<{ n: string }>(`select coalesce(sum(pg_total_relation_size(c.oid)),0) n from pg_class c join pg_namespace n on n.oid=c.relnamespace where n.nspname=$1 and c.relkind='r'`, [schema]);
    return { bytes: Number(b.rows[0]?.n), rows };
  }
  const bytes = readdirSync(dir).filter((f) => f.startsWith('miprox.db')).reduce((s, f) => s + statSync(join(dir, f)).size, 0);
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    for (const t of TABLES) { try { rows[t] = Number((db.prepare(`select count(*) n from "${t}"`).get() as { n: number }).n); } catch { rows[t] = -1; } }
  } finally { db.close(); }
  return { bytes, rows };
}

function metric(text: string, name: string): number {
  const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm'));
  return m ? Number(m[1]) : Number.NaN;
}

const header = ['t_s', 'rss_mb', 'heap_used_mb', 'heap_total_mb', 'external_mb', 'fds', 'handles', 'requests', 'cached_jobs', 'cached_rollouts', 'live_jobs', 'db_mb', ...TABLES];
writeFileSync(OUT, header.join(',') + '\n');
const t0 = Date.now();
async function sample(): Promise<void> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const fds = existsSync(`/proc/${pid}/fd`) ? readdirSync(`/proc/${pid}/fd`).length : -1;
  const db = await dbFigures();
  const mb = (x: number) => (x / 1048576).toFixed(1);
  const row = [
    Math.round((Date.now() - t0) / 1000), mb(metric(text, 'process_resident_memory_bytes')), mb(metric(text, 'nodejs_heap_size_used_bytes')),
    mb(metric(text, 'nodejs_heap_size_total_bytes')), mb(metric(text, 'nodejs_external_memory_bytes')), fds,
    metric(text, 'nodejs_active_handles_total'), metric(text, 'nodejs_active_requests_total'),
    metric(text, 'miprox_cached_jobs'), metric(text, 'miprox_cached_rollouts'), live.length, mb(db.bytes), ...TABLES.map((t) => db.rows[t]),
  ];
  appendFileSync(OUT, row.join(',') + '\n');
  console.log(header.map((h, i) => `${h}=${row[i]}`).join(' '));
}

// ---- run ----
const deadline = Date.now() + minutes * 60_000;
const MAX_LIVE = 8;
async function worker(i: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const r = Math.random();
      if (live.length < MAX_LIVE && r < 0.1) await createJob();
      else if (r < 0.75 && live.length > 0) await rollout(pick(live));
      else if (r < 0.92 && live.length > 0) await poll(pick(live));
      else await lifecycle();
    } catch (err) {
      count(`worker error ${(err as Error).message.slice(0, 60)}`);
    }
    if (i === 0) await sleep(20); // one worker paces itself: the mix is not all back-to-back calls
  }
}
await sample();
const sampler = setInterval(() => void sample().catch((e) => console.error('sample failed', e)), SAMPLE_S * 1000);
await Promise.all(Array.from({ length: 6 }, (_, i) => worker(i)));
await Promise.all(late);
// Quiet period: everything ends; cancel and delete what is left, then watch the server idle.
for (const job of [...live]) {
  await api('POST', `${JOBS}/${job.id}/cancel`);
  const d = await api('DELETE', `${JOBS}/${job.id}`);
  if (d.status === 200) count('job deleted');
}
live.length = 0;
console.log('--- load over, idling 90 s ---');
await sleep(90_000);
await sample();
clearInterval(sampler);
console.log(JSON.stringify(Object.entries(stats).sort(), null, 0).replace(/\],\[/g, '],\n['));
if (process.env.SOAK_KEEP) { console.log(`server left running: pid ${pid}`); await sleep(3_600_000); }
await service.stop(15_000);
await pgClient?.query(`drop schema if exists "${schema}" cascade`);
await pgClient?.end();
for (const u of [...Object.values(ups), anth]) await u.close();
if (process.env.SOAK_OUT) rmSync(dir, { recursive: true, force: true });
else console.log(`samples in ${OUT}`);
