import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { seedJobBody } from '../../test/helpers/server.js';
import { benchPoolOptions } from './loadClient.js';
import { processCpuMs } from './procCpu.js';
import { createJob, type MiproxUnderTest } from './miproxService.js';
import { table } from './report.js';
import { summarize, type LatencySummary } from './stats.js';

/**
 * The proxy's API surfaces side by side (issue 13): chat completions, Responses and Messages, each
 * through miprox and straight to the same fake upstream, non-streaming (full answer) and streaming
 * (time to first byte of the body), on one keep-alive connection per path, rows interleaved round by
 * round. "Added" is miprox's p50 minus the direct p50 of the upstream call the row makes: a native row
 * (Responses on openai, Messages on anthropic) is compared with the same API direct, a translated row
 * (openai_compatible) with chat completions direct, so translation is part of what it adds.
 */
const SYSTEM = 'You are a helpful assistant.';
const QUESTION = 'What is the capital of France? Answer in one word.';

const BODIES = {
  chat: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: QUESTION }], max_tokens: 16 },
  responses: { model: 'gpt-4o-mini', instructions: SYSTEM, input: QUESTION, max_output_tokens: 16 },
  messages: { model: 'claude-haiku-4-5', system: SYSTEM, messages: [{ role: 'user', content: QUESTION }], max_tokens: 16 },
} as const;

type Api = keyof typeof BODIES;

interface Path { origin: string; path: string; api: Api; headers: Record<string, string> }

export interface SurfaceRow { name: string; miprox: Path; direct: Path }

export interface SurfaceUpstreams { openaiUrl: string; anthropicUrl: string }

/** The jobs the rows use, on the miprox under test (it must know ANTHROPIC_BASE_URL and allow the fake's host). */
export async function surfaceRows(m: MiproxUnderTest, up: SurfaceUpstreams): Promise<SurfaceRow[]> {
  const json = { 'content-type': 'application/json' };
  const job = (provider: string, model: string) => createJob(m, seedJobBody({ provider, model, proposerProvider: 'sim', proposerModel: 'sim-proposer', initialPrompt: SYSTEM, ...(provider === 'openai_compatible' ? { inferenceUrl: up.openaiUrl } : {}) }));
  // Jobs of their own: the main job's rollout count checks the other phases' persistence.
  const openaiPath = await job('openai', 'gpt-4o-mini');
  const compatible = await job('openai_compatible', 'gpt-4o-mini');
  const anthropic = await job('anthropic', 'claude-haiku-4-5');
  const o = new URL(up.openaiUrl);
  const direct = (api: Api): Path => api === 'messages'
    ? { origin: up.anthropicUrl, path: '/v1/messages', api, headers: { ...json, 'x-api-key': 'k', 'anthropic-version': '2023-06-01' } }
    : { origin: o.origin, path: `${o.pathname}/${api === 'chat' ? 'chat/completions' : 'responses'}`, api, headers: { ...json, authorization: 'Bearer sk-bench' } };
  const via = (proxyPath: string, api: Api): Path => ({ origin: m.origin, path: `${proxyPath}/surf-{n}/${api === 'chat' ? 'chat/completions' : api}`, api, headers: json });
  return [
    { name: 'chat completions (openai)', miprox: via(openaiPath, 'chat'), direct: direct('chat') },
    { name: 'responses, native (openai)', miprox: via(openaiPath, 'responses'), direct: direct('responses') },
    { name: 'responses, translated (openai_compatible)', miprox: via(compatible, 'responses'), direct: direct('chat') },
    { name: 'messages, native (anthropic)', miprox: via(anthropic, 'messages'), direct: direct('messages') },
    { name: 'messages, translated (openai_compatible)', miprox: via(compatible, 'messages'), direct: direct('chat') },
  ];
}

/** `cpuMs`/`cpuRequests`: miprox's own CPU over the measured requests of the row (proxied cells only). */
interface Cell { json: number[]; ttfb: number[]; errors: string[]; cpuMs: number; cpuRequests: number }

let counter = 0;

/** One request; returns ms to the whole answer (JSON) or to the first body chunk (stream). */
async function once(pool: Pool, p: Path, stream: boolean): Promise<number> {
  const body = JSON.stringify({ ...BODIES[p.api], ...(stream ? { stream: true } : {}) });
  const t0 = performance.now();
  const res = await pool.request({ method: 'POST', path: p.path.replace('{n}', String(counter++)), headers: p.headers, body });
  let first = -1;
  let text = '';
  for await (const chunk of res.body) {
    if (first < 0) first = performance.now() - t0;
    text += (chunk as Buffer).toString('utf8');
  }
  const total = performance.now() - t0;
  if (res.statusCode !== 200 || (stream && !/completed|message_stop|\[DONE\]/.test(text))) throw new Error(`HTTP ${res.statusCode} ${text.slice(0, 200)}`);
  return stream ? first : total;
}

/**
 * `miproxPid`: the miprox process, whose CPU time over each row's measured requests is summed (CPU
 * per request hardly moves with the neighbours' load, unlike latency on a shared machine; the call
 * records written in the background after an answer may land in the next row's share).
 */
export async function surfacePhase(rows: SurfaceRow[], o: { requests: number; warmup: number; rounds: number; miproxPid?: number }): Promise<Map<string, { miprox: Cell; direct: Cell }>> {
  const paths = rows.flatMap((r) => [r.miprox, r.direct]);
  const pools = new Map(paths.map((p) => [p, new Pool(p.origin, benchPoolOptions(1))]));
  const cells = new Map(rows.map((r) => [r.name, { miprox: emptyCell(), direct: emptyCell() }]));
  const run = async (p: Path, cell: Cell, n: number, keep: boolean): Promise<void> => {
    for (let i = 0; i < n; i++) {
      for (const stream of [false, true]) {
        try {
          const ms = await once(pools.get(p)!, p, stream);
          if (keep) (stream ? cell.ttfb : cell.json).push(ms);
        } catch (err) {
          cell.errors.push(String(err).slice(0, 200));
        }
      }
    }
  };
  try {
    for (const r of rows) {
      await run(r.miprox, cells.get(r.name)!.miprox, o.warmup, false);
      await run(r.direct, cells.get(r.name)!.direct, o.warmup, false);
    }
    const perRound = Math.ceil(o.requests / o.rounds);
    for (let round = 0; round < o.rounds; round++) {
      for (let i = 0; i < rows.length; i++) {
        const r = rows[(i + round) % rows.length]!;
        const c = cells.get(r.name)!;
        // Direct and proxied alternate within the row, so both see the same moment of the machine.
        await run(r.direct, c.direct, perRound, true);
        const cpu0 = processCpuMs(o.miproxPid);
        await run(r.miprox, c.miprox, perRound, true);
        const cpu1 = processCpuMs(o.miproxPid);
        if (cpu0 !== null && cpu1 !== null) {
          c.miprox.cpuMs += cpu1 - cpu0;
          c.miprox.cpuRequests += 2 * perRound; // a JSON and a streaming request each
        }
      }
    }
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
  }
  return cells;
}

const emptyCell = (): Cell => ({ json: [], ttfb: [], errors: [], cpuMs: 0, cpuRequests: 0 });
const f = (ms: number): string => ms.toFixed(3);

export function printSurfaceReport(rows: SurfaceRow[], cells: Map<string, { miprox: Cell; direct: Cell }>): { rows: Array<Record<string, unknown>> } {
  const out: Array<Record<string, unknown>> = [];
  const lines: string[][] = [];
  let chatAdded: { json: number; ttfb: number } | null = null;
  let chatCpu: number | null = null;
  for (const r of rows) {
    const c = cells.get(r.name)!;
    const s = (xs: number[]): LatencySummary => summarize(xs);
    const mj = s(c.miprox.json); const dj = s(c.direct.json); const mt = s(c.miprox.ttfb); const dt = s(c.direct.ttfb);
    const added = { json: mj.p50 - dj.p50, ttfb: mt.p50 - dt.p50 };
    chatAdded ??= added;
    const vsChat = { json: added.json - chatAdded.json, ttfb: added.ttfb - chatAdded.ttfb };
    const cpu = c.miprox.cpuRequests > 0 ? c.miprox.cpuMs / c.miprox.cpuRequests : null;
    chatCpu ??= cpu;
    const cpuCell = cpu === null ? '-' : `${f(cpu)} (${chatCpu === null ? '' : `${cpu - chatCpu >= 0 ? '+' : ''}${f(cpu - chatCpu)}`})`;
    lines.push([r.name, f(dj.p50), f(mj.p50), f(mj.p99), f(added.json), f(vsChat.json), f(dt.p50), f(mt.p50), f(added.ttfb), f(vsChat.ttfb), cpuCell, String(c.miprox.errors.length + c.direct.errors.length)]);
    out.push({ row: r.name, direct_json_p50: dj.p50, miprox_json_p50: mj.p50, miprox_json_p99: mj.p99, added_json_p50: added.json, direct_ttfb_p50: dt.p50, miprox_ttfb_p50: mt.p50, added_ttfb_p50: added.ttfb, miprox_cpu_ms_per_request: cpu, samples: mj.count, errors: [...c.miprox.errors, ...c.direct.errors].slice(0, 3) });
  }
  console.log('\nAPI surfaces (ms; JSON = whole answer, stream = time to first byte; added = miprox p50 - direct p50; vs chat = added - chat row\'s added; CPU = miprox CPU ms per request (vs chat)):');
  console.log(table(['surface (provider)', 'JSON direct p50', 'JSON miprox p50', 'JSON miprox p99', 'JSON added', 'vs chat', 'stream direct p50', 'stream miprox p50', 'stream added', 'vs chat', 'miprox CPU/request', 'errors'], lines));
  const errors = out.flatMap((r) => r.errors as string[]);
  if (errors.length > 0) console.log(`errors, e.g.: ${errors[0]}`);
  return { rows: out };
}
