/**
 * Database storage per rollout (`npm run bench:storage`, about 40 s): what a job's traffic costs on
 * disk, per table, on SQLite and PostgreSQL, what RETENTION_DAYS frees, and whether the freed space
 * is reused (docs/deploy.md, "Storage per rollout").
 *
 * A real miprox server (startServer, HTTP on loopback) against the fake OpenAI upstream
 * (test/fakes), the simulator as proposer, so proposals run as they would and their rows count.
 * Per configuration: a warm-up of rollouts, then the measured ones (each: its calls in order, then a
 * reward with a short feedback). Then the clock moves past RETENTION_DAYS, the retention pass runs,
 * and AFTER_RETENTION more rollouts (and their proposals) run over the cleared records.
 *
 * Sizes: SQLite from dbstat (pages of each table with its indexes) after a WAL checkpoint, "as
 * written" and after VACUUM ("compact"); PostgreSQL from pg_total_relation_size (heap, TOAST,
 * indexes) as written (dead row versions of updated rollouts included) and after VACUUM FULL.
 *
 *   npx tsx bench/storage.ts [--rollouts 150] [--warmup 20] [--db sqlite,postgres]
 *     [--config one,three,sixteen,sixteen-demos,tools]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { generateApiKey, hashApiKey } from '../src/api/auth.js';
import { loadConfig } from '../src/config/config.js';
import { type RunningServer, startServer } from '../src/main.js';
import { dropPostgresSchema } from '../src/store/postgres/postgresStore.js';
import { MIPROX_TABLES } from '../src/store/schema.js';
import { createSeededRng } from '../src/shared/rng.js';
import type { RecordedRequest } from '../test/fakes/fakeServerBase.js';
import { startFakeUpstream } from '../test/fakes/fakeUpstream.js';
import { PG_URL, uniqueSchema } from '../test/helpers/postgres.js';
import { argValue, numberArg, table } from './lib/report.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const SESSIONS = '/api/v1/online/sessions';

type Db = 'sqlite' | 'postgres';
type Message = Record<string, unknown>;
/** One call of a rollout: its messages, given what the rollout's earlier calls answered. User texts start `[<shape name>]`. */
type Step = (answers: Message[]) => Message[];

interface Shape {
  name: string;
  describe: string;
  /** `modules` of the job (declared program); absent: a one-module job from initial_prompt. */
  modules?: { name: string; template: string }[];
  initialPrompt?: string;
  steps: (rollout: number) => Step[];
  reply: string;
  /** Proposals may also propose demo sets (instruction_and_demos, 4 demos, rewards of 0.5 and up). */
  demos?: boolean;
}

/**
 * A vocabulary of 1,000 made-up words (3 to 9 letters): filler that compresses about as well as prose
 * does under PostgreSQL's pglz (a few repeated words, no 16-word loop that compresses tenfold).
 */
const VOCABULARY = (() => {
  const rng = createSeededRng(7);
  return Array.from({ length: 1000 }, () => Array.from({ length: 3 + Math.floor(rng.next() * 7) }, () => String.fromCharCode(97 + Math.floor(rng.next() * 26))).join(''));
})();

/** Deterministic filler text of `n` characters for `salt` (the same salt, the same text). */
function prose(n: number, salt: number): string {
  const rng = createSeededRng(salt + 1);
  let out = '';
  for (let i = 0; out.length < n; i++) out += `${VOCABULARY[Math.floor(rng.next() * VOCABULARY.length)]}${i % 12 === 11 ? '. ' : ' '}`;
  return out.slice(0, n);
}

const sys = (content: string): Message => ({ role: 'system', content });
const user = (content: string): Message => ({ role: 'user', content });

const TOOL_STEPS = 3;
const TOOL_RESULT_BYTES = 16_000;

const SHAPES: Shape[] = [
  {
    name: 'one', describe: '1 module, ~1 KB system+user',
    initialPrompt: `You are a support agent. ${prose(500, 1)}`,
    steps: (r) => [() => [sys(`You are a support agent. ${prose(500, 1)}`), user(`[one] ${prose(500, 100 + r)}`)]],
    reply: prose(150, 2),
  },
  {
    name: 'three', describe: '3 modules, templated, 500 B captured',
    modules: ['retrieve', 'reason', 'answer'].map((name, i) => ({ name, template: `Step ${name}. ${prose(300, 10 + i)}\nContext:\n{context}` })),
    steps: (r) => ['retrieve', 'reason', 'answer'].map((name, i) => () => [
      sys(`Step ${name}. ${prose(300, 10 + i)}\nContext:\n${prose(500, 1000 + r * 3 + i)}`), user(`[three] ${prose(200, 500 + r)}`),
    ]),
    reply: prose(200, 3),
  },
  {
    name: 'sixteen', describe: '16 modules, 2-4 KB texts',
    modules: Array.from({ length: 16 }, (_, i) => ({ name: `stage${i}`, template: `Stage ${i}. ${prose(2000 + (i % 3) * 1000, 20 + i)}` })),
    steps: (r) => Array.from({ length: 16 }, (_, i) => () => [sys(`Stage ${i}. ${prose(2000 + (i % 3) * 1000, 20 + i)}`), user(`[sixteen] ${prose(1000 + (i % 4) * 500, 700 + r * 16 + i)}`)]),
    reply: prose(400, 4),
  },
  {
    name: 'sixteen-demos', describe: 'the same with demo proposals', demos: true,
    modules: Array.from({ length: 16 }, (_, i) => ({ name: `stage${i}`, template: `Stage ${i}. ${prose(2000 + (i % 3) * 1000, 20 + i)}` })),
    steps: (r) => Array.from({ length: 16 }, (_, i) => () => [sys(`Stage ${i}. ${prose(2000 + (i % 3) * 1000, 20 + i)}`), user(`[sixteen] ${prose(1000 + (i % 4) * 500, 700 + r * 16 + i)}`)]),
    reply: prose(400, 4),
  },
  {
    name: 'tools', describe: `1 module, ${TOOL_STEPS} tool steps, ${TOOL_RESULT_BYTES / 1000} KB results`,
    initialPrompt: `You are a research agent. ${prose(500, 5)}`,
    // Each step resends the whole conversation so far: the assistant's tool calls and their results.
    steps: (r) => Array.from({ length: TOOL_STEPS + 1 }, (_, k) => (answers: Message[]) => {
      const messages: Message[] = [sys(`You are a research agent. ${prose(500, 5)}`), user(`[tools] ${prose(300, 900 + r)}`)];
      for (let j = 0; j < k; j++) {
        const a = answers[j]!;
        messages.push(a);
        const calls = (a.tool_calls as { id: string }[] | undefined) ?? [];
        for (const c of calls) messages.push({ role: 'tool', tool_call_id: c.id, content: prose(TOOL_RESULT_BYTES, 2000 + r * 4 + j) });
      }
      return messages;
    }),
    reply: prose(300, 6),
  },
];

/** The fake model calls the search tool until TOOL_STEPS results came back (the tools configuration only). */
function toolCallsFor(req: RecordedRequest) {
  const messages = (req.body as { messages?: Message[] }).messages ?? [];
  // By the user's text: a candidate's system text is the proposer's, not the app's.
  if (!messages.some((m) => m.role === 'user' && String(m.content).startsWith('[tools]'))) return undefined;
  const results = messages.filter((m) => m.role === 'tool').length;
  return results < TOOL_STEPS ? [{ name: 'search', arguments: JSON.stringify({ query: prose(120, results) }) }] : undefined;
}

/** Each configuration's answer, told by its user text's first words (a candidate changes the system text). */
function replyFor(req: RecordedRequest): string {
  const text = JSON.stringify((req.body as { messages?: Message[] }).messages?.filter((m) => m.role === 'user')[0]?.content ?? '');
  return SHAPES.find((s) => text.startsWith(`"[${s.name}]`))?.reply ?? '';
}

function jobBody(shape: Shape) {
  const policyOptimization: Record<string, unknown> = {
    algorithm: 'mipro',
    task_app_url: 'https://task.example.com',
    policy: { model: 'gpt-4o-mini', provider: 'openai', temperature: 0, max_completion_tokens: 256 },
    mipro: {
      mode: 'online', bootstrap_train_seeds: [0, 1, 2, 3, 4], val_seeds: [100, 101, 102], online_pool: [0, 1, 2, 3, 4],
      online_proposer_mode: 'inline', online_proposer_min_rollouts: 20, online_rollouts_per_candidate: 10,
      proposer: { mode: shape.demos ? 'instruction_and_demos' : 'instruction_only', model: 'sim-proposer', provider: 'sim', temperature: 0.7, max_tokens: 512 },
      ...(shape.demos ? { max_demos: 4, demo_min_reward: 0.5 } : {}),
    },
  };
  if (shape.modules) policyOptimization.modules = shape.modules;
  if (shape.initialPrompt) policyOptimization.initial_prompt = { messages: [{ role: 'system', pattern: shape.initialPrompt, order: 0 }] };
  return { config_body: { policy_optimization: policyOptimization } };
}

async function post(url: string, body: unknown, key?: string): Promise<any> {
  const res = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Database size per table (indexes and TOAST included), in bytes. */
interface Meter {
  sizes(): Promise<Record<string, number>>;
  /** What the database does by itself to make freed space reusable (PostgreSQL: autovacuum's VACUUM; SQLite: nothing). */
  reclaim(): Promise<void>;
  /** Bytes on disk, free space included (SQLite: the file, its free pages too; PostgreSQL: every table with its TOAST and indexes). */
  onDisk(): Promise<number>;
  /** SQLite: pages on the free list (whole pages new rows can take); PostgreSQL: 0 (not counted). */
  freePages(): Promise<number>;
  compact(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

function sqliteMeter(file: string): Meter {
  const db = new Database(file);
  const sizes = async () => {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const rows = db.prepare(`select s.tbl_name as t, sum(d.pgsize) as bytes from dbstat d join sqlite_schema s on s.name = d.name group by s.tbl_name`).all() as { t: string; bytes: number }[];
    return Object.fromEntries(rows.map((r) => [r.t, r.bytes]));
  };
  return {
    sizes,
    // Freed pages go on SQLite's free list and new rows take them; the file does not shrink.
    reclaim: async () => {},
    freePages: async () => Number(db.pragma('freelist_count', { simple: true })),
    onDisk: async () => {
      db.pragma('wal_checkpoint(TRUNCATE)');
      return Number(db.pragma('page_count', { simple: true })) * Number(db.pragma('page_size', { simple: true }));
    },
    compact: async () => {
      db.exec('vacuum');
      return sizes();
    },
    close: async () => {
      db.close();
    },
  };
}

async function postgresMeter(schema: string): Promise<Meter> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const sizes = async () => {
    const out: Record<string, number> = {};
    for (const t of MIPROX_TABLES) out[t] = Number((await client.query<{ n: string }>(`select pg_total_relation_size($1) as n`, [`"${schema}"."${t}"`])).rows[0]!.n);
    return out;
  };
  return {
    sizes,
    reclaim: async () => {
      for (const t of MIPROX_TABLES) await client.query(`vacuum "${schema}"."${t}"`);
    },
    onDisk: async () => sum(await sizes()),
    freePages: async () => 0,
    compact: async () => {
      for (const t of MIPROX_TABLES) await client.query(`vacuum full "${schema}"."${t}"`);
      return sizes();
    },
    close: async () => {
      await client.end();
    },
  };
}

interface Result {
  db: Db; shape: Shape;
  /** Rollouts in the database when it was measured (warm-up included), and calls per rollout. */
  rollouts: number; callsPerRollout: number;
  /** Growth per rollout over the measured rollouts, as written (whole database). */
  writtenPerRollout: number;
  /** Compact bytes per rollout, per table: before and after the retention pass. */
  before: Record<string, number>; after: Record<string, number>;
  storedChars: { input: number; output: number; variables: number };
  proposals: number;
  /** Proposals made over the rollouts after the retention pass, and how many of them failed. */
  proposalsAfter: { made: number; failed: number };
  /**
   * Bytes on disk (free space included): compact before the pass, after it (PostgreSQL after a plain
   * VACUUM), after the next AFTER_RETENTION rollouts; and SQLite's free-list pages after the pass.
   */
  reuse: { before: number; cleared: number; next: number; free: number };
}

/** Rollouts after the retention pass: traffic over cleared records, in the space they left. */
const AFTER_RETENTION = 40;

const rolloutId = (r: number) => `r-${String(r).padStart(6, '0')}`;
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

async function measure(db: Db, shape: Shape, warmup: number, rollouts: number, upstreamUrl: string): Promise<Result> {
  let offsetMs = 0;
  const clock = { now: () => Date.now() + offsetMs };
  const dir = mkdtempSync(join(tmpdir(), 'miprox-storage-'));
  const schema = uniqueSchema('bench_storage');
  const file = join(dir, 'miprox.db');
  const dbEnv = db === 'postgres' ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema } : { DATABASE_URL: file };
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: upstreamUrl, RETENTION_DAYS: '1', ...dbEnv,
  });
  // The retention pass runs every 200 ms; nothing is older than a day until the clock moves.
  const server: RunningServer = await startServer(config, { logger: pino({ level: 'silent' }), clock, retentionIntervalMs: 200 });
  const meter = db === 'postgres' ? await postgresMeter(schema) : sqliteMeter(file);
  try {
    const tenant = await server.store.createTenant('bench');
    const { key, prefix } = generateApiKey();
    await server.store.createApiKey({ tenantId: tenant.id, name: 'bench', keyHash: hashApiKey(key), prefix });
    const job = await post(`${server.url}${SESSIONS}`, jobBody(shape), key);
    const empty = await meter.compact();
    let calls = 0;
    const runRollouts = async (from: number, to: number) => {
      let next = from;
      const worker = async () => {
        for (let r = next++; r < to; r = next++) {
          const id = rolloutId(r);
          const answers: Message[] = [];
          for (const step of shape.steps(r)) {
            const res = await post(`${job.proxy_url}/${id}/chat/completions`, { model: 'gpt-4o-mini', messages: step(answers) });
            answers.push(res.choices[0].message);
            calls++;
          }
          await post(`${server.url}${SESSIONS}/${job.session_id}/reward`, { rollout_id: id, reward_info: { score: (r % 5) / 4, feedback: 'ok' } }, key);
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      await server.settled();
    };
    await runRollouts(0, warmup);
    const before = await meter.sizes();
    const callsBefore = calls;
    await runRollouts(warmup, warmup + rollouts);
    const after = await meter.sizes();
    const measuredCalls = calls - callsBefore;
    const ids = Array.from({ length: warmup + rollouts }, (_, r) => rolloutId(r));
    const stored = await server.store.rolloutCalls(job.job_id, ids);
    const storedChars = {
      input: stored.reduce((n, c) => n + JSON.stringify(c.inputMessages ?? '').length, 0) / ids.length,
      output: stored.reduce((n, c) => n + (c.outputText?.length ?? 0), 0) / ids.length,
      variables: stored.reduce((n, c) => n + JSON.stringify(c.variables ?? '').length, 0) / ids.length,
    };
    const proposals = (await server.store.listProposals(job.job_id, 10_000)).length;
    const beforeTables = await meter.compact();
    // Moves the clock past RETENTION_DAYS and waits for the pass that clears `lastId`'s call.
    const clearUpTo = async (offset: number, lastId: string) => {
      offsetMs = offset;
      const deadline = Date.now() + 20_000;
      while ((await server.store.rolloutCalls(job.job_id, [lastId]))[0]?.outputText != null) {
        if (Date.now() > deadline) throw new Error('retention did not clear the texts');
        await new Promise((res) => setTimeout(res, 100));
      }
      await new Promise((res) => setTimeout(res, 400)); // the pass that cleared calls goes on to rewards, proposals, events
    };
    await clearUpTo(2 * DAY_MS, ids.at(-1)!);
    // Is the freed space reused? On disk, free space included, after the pass (PostgreSQL after a
    // plain VACUUM, as autovacuum runs it) and after the next rollouts.
    await meter.reclaim();
    const diskCleared = await meter.onDisk();
    const free = await meter.freePages();
    // Traffic and proposals go on over the cleared records (the proposer's grounding skips them).
    const total = warmup + rollouts + AFTER_RETENTION;
    await runRollouts(warmup + rollouts, total);
    const reuse = { before: sum(beforeTables), cleared: diskCleared, next: await meter.onDisk(), free };
    const listed = await server.store.listProposals(job.job_id, 10_000);
    const failed = listed.slice(0, listed.length - proposals).filter((p) => p.status === 'failed');
    if (failed.length > 0) console.error(`${shape.name} on ${db}: proposals failed after retention: ${failed.map((p) => p.error).join('; ')}`);
    const proposalsAfter = { made: listed.length - proposals, failed: failed.length };
    // Those rollouts' texts go too: the row after retention counts cleared records only.
    await clearUpTo(4 * DAY_MS, rolloutId(total - 1));
    const afterTables = await meter.compact();
    const perRollout = (sizes: Record<string, number>, n: number) => Object.fromEntries(Object.keys(sizes).map((t) => [t, ((sizes[t] ?? 0) - (empty[t] ?? 0)) / n]));
    return {
      db, shape, rollouts: warmup + rollouts, callsPerRollout: measuredCalls / rollouts, writtenPerRollout: (sum(after) - sum(before)) / rollouts,
      before: perRollout(beforeTables, warmup + rollouts), after: perRollout(afterTables, total), storedChars, proposals, proposalsAfter, reuse,
    };
  } finally {
    await meter.close();
    await server.close();
    if (db === 'postgres') await dropPostgresSchema(PG_URL, schema);
    rmSync(dir, { recursive: true, force: true });
  }
}

const bytes = (n: number) => n.toFixed(0);
const kib = (n: number) => (n / 1024).toFixed(0);
const SHOWN = ['rollout_calls', 'rollouts', 'rewards', 'events', 'proposals', 'candidates'];

/** Per table, then the rest and the total. */
const byTable = (r: Record<string, number>) => [...SHOWN.map((t) => bytes(r[t] ?? 0)), bytes(sum(r) - SHOWN.reduce((n, t) => n + (r[t] ?? 0), 0)), bytes(sum(r))];

async function main(): Promise<void> {
  const rollouts = numberArg('--rollouts', 150);
  const warmup = numberArg('--warmup', 20);
  const dbs = (argValue('--db') ?? 'sqlite,postgres').split(',') as Db[];
  const wanted = (argValue('--config') ?? SHAPES.map((s) => s.name).join(',')).split(',');
  const fake = await startFakeUpstream({ reply: replyFor, toolCallsFor, record: false });
  const results: Result[] = [];
  try {
    for (const shape of SHAPES.filter((s) => wanted.includes(s.name))) {
      for (const db of dbs) {
        const started = Date.now();
        // About the same number of calls per configuration, and enough rollouts that pages average out.
        results.push(await measure(db, shape, warmup, Math.max(60, Math.round(rollouts * 3 / Math.max(3, shape.steps(0).length))), fake.url));
        console.error(`${shape.name} on ${db}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    await fake.close();
  }
  console.log('\nBytes per rollout, compact (SQLite after VACUUM, PostgreSQL after VACUUM FULL), per table; "written" is the growth as written');
  console.log(table(['config', 'db', 'rollouts', 'calls', ...SHOWN, 'other', 'total', 'written'], results.map((r) => [
    `${r.shape.name} (${r.shape.describe})`, r.db, String(r.rollouts), r.callsPerRollout.toFixed(0), ...byTable(r.before), bytes(r.writtenPerRollout),
  ])));
  console.log('\nStored call text per rollout (characters: input messages as JSON, answers, variables as JSON), and proposals');
  console.log(table(['config', 'db', 'input', 'output', 'variables', 'proposals', 'proposals after retention (failed)'], results.map((r) => [
    r.shape.name, r.db, bytes(r.storedChars.input), bytes(r.storedChars.output), bytes(r.storedChars.variables), String(r.proposals),
    `${r.proposalsAfter.made} (${r.proposalsAfter.failed})`,
  ])));
  console.log('\nAfter RETENTION_DAYS cleared every text: bytes per rollout, compact, per table');
  console.log(table(['config', 'db', ...SHOWN, 'other', 'total', 'freed'], results.map((r) => [
    r.shape.name, r.db, ...byTable(r.after), `${(100 * (1 - sum(r.after) / sum(r.before))).toFixed(0)}%`,
  ])));
  console.log(`\nIs the freed space reused? KiB on disk (free space included): compact before the pass, after it (PostgreSQL: after a plain VACUUM, as autovacuum runs it), after ${AFTER_RETENTION} more rollouts; their text alone as written; SQLite's free-list pages after the pass`);
  console.log(table(['config', 'db', 'before pass', 'after pass', `after ${AFTER_RETENTION} more`, `${AFTER_RETENTION} rollouts as written`, 'free pages'], results.map((r) => [
    r.shape.name, r.db, kib(r.reuse.before), kib(r.reuse.cleared), kib(r.reuse.next), kib(r.writtenPerRollout * AFTER_RETENTION), r.db === 'sqlite' ? String(r.reuse.free) : '-',
  ])));
}

await main();
