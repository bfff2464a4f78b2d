import { createSeededRng, type Rng } from '../../src/shared/rng.js';
import { seedJobBody } from '../../test/helpers/server.js';
import type { LoadSpec } from './loadClient.js';
import { runLoadInChild } from './loadInChild.js';
import { interleavedSequential } from './proxyPhases.js';
import { createJob, type MiproxUnderTest } from './miproxService.js';
import { processCpuMs } from './procCpu.js';
import { table } from './report.js';
import { fmtMs, fmtRate, type LatencySummary } from './stats.js';

/**
 * What a declared program costs the proxy per call (`npm run bench:proxy -- --programs`): the same
 * `miprox serve` and fake upstream as the rest of bench:proxy, one job per case, every case sent
 * the same way (sequential interleaved rounds on one connection each, then N connections from a
 * separate load-generator process):
 *   one module   the default job of bench:proxy (its one short system text), the reference
 *   one big      a one-module job whose template is one of the program's (2-3 KB, 2 placeholders):
 *                bigger payloads alone, without the other 15 modules
 *   16 modules   a program of 16 declared templates (1-4 KB, 1-3 placeholders each); call i is
 *                module i % 16's template with captured values of 200-500 bytes, unique per call
 *   no match     the same program; each call's system text follows a module's template but was edited
 *                in its last sentence, so it matches none of the 16 and passes through (unique per call,
 *                so every call is a new unmatched text)
 * Every call has a new rollout id, so each writes its rollout and call records.
 */
export const PROGRAM_MODULES = 16;

const WORDS = ('the a customer account order refund policy support agent answer question context document '
  + 'summary shipping invoice payment card balance transfer limit fee request reply tone brief polite '
  + 'escalate ticket priority product warranty return label address delivery status update confirm '
  + 'verify identity never always must should only cite source quote section paragraph format list').split(' ');
const PLACEHOLDERS = ['context', 'question', 'user_profile'];

function sentence(rng: Rng): string {
  const n = 8 + Math.floor(rng.next() * 12);
  const words = Array.from({ length: n }, () => WORDS[Math.floor(rng.next() * WORDS.length)]!);
  const s = words.join(' ');
  return `${s[0]!.toUpperCase()}${s.slice(1)}.`;
}

function prose(rng: Rng, chars: number): string {
  let out = '';
  while (out.length < chars) out += `${sentence(rng)}${rng.next() < 0.2 ? '\n\n' : ' '}`;
  return out.trimEnd();
}

/**
 * Module i: a shared opening (apps give their stages one voice, so templates share a prefix), then
 * 1-4 KB of instructions with 1-3 placeholders spread through them, ending in literal text.
 */
export function programTemplates(): Array<{ name: string; template: string }> {
  const rng = createSeededRng(115);
  const opening = 'You are the support assistant of ACME Bank. Follow the bank\'s policies and keep answers short.\n\n';
  return Array.from({ length: PROGRAM_MODULES }, (_, i) => {
    const size = 1024 + Math.round((i * 3072) / (PROGRAM_MODULES - 1));
    const holes = (i % 3) + 1;
    const parts = holes + 1;
    let t = `${opening}Stage ${i + 1}: ${prose(rng, size / parts)}`;
    for (let h = 0; h < holes; h++) t += `\n\n${PLACEHOLDERS[h]!.toUpperCase()}:\n{${PLACEHOLDERS[h]!}}\n\n${prose(rng, size / parts)}`;
    return { name: `stage_${i + 1}`, template: t };
  });
}

/** A captured value of 200-500 bytes; `{n}` makes every call's value its own. */
function value(rng: Rng): string {
  return `[call {n}] ${prose(rng, 200 + Math.floor(rng.next() * 300))}`;
}

function render(template: string, rng: Rng): string {
  return template.replace(/\{([a-z_]+)\}/g, () => value(rng));
}

function chatBody(system: string): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [{ role: 'system', content: system }, { role: 'user', content: 'What is the capital of France? Answer in one word.' }],
    temperature: 0,
    max_tokens: 16,
  });
}

/** `count` bodies per module, cycled so that consecutive calls go to different modules. */
export function matchedBodies(templates: ReadonlyArray<{ template: string }>, count = 4): string[] {
  const rng = createSeededRng(7);
  const out: string[] = [];
  for (let k = 0; k < count; k++) for (const m of templates) out.push(chatBody(render(m.template, rng)));
  return out;
}

/** Like matchedBodies, with the last sentence of each text reworded: a drifted prompt no module matches. */
export function unmatchedBodies(templates: ReadonlyArray<{ template: string }>, count = 4): string[] {
  const rng = createSeededRng(8);
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    for (const m of templates) out.push(chatBody(`${render(m.template, rng)} Reply in English.`));
  }
  return out;
}

interface Case { name: string; path: string; bodies: string[] }

export interface ProgramCostRow {
  case: string;
  seq: LatencySummary;
  addedP50: number;
  addedP99: number;
  rps: number;
  cpuMsPerRequest: number | null;
  errors: number;
  errorSamples: string[];
}

/** The cases' jobs on the miprox under test (the one-module reference is its default job). */
export async function programCases(m: MiproxUnderTest, oneModuleBody: string): Promise<Case[]> {
  const templates = programTemplates();
  const sim = { proposerProvider: 'sim', proposerModel: 'sim-proposer' };
  const big = templates[7]!;
  const bigPath = await createJob(m, seedJobBody({ provider: 'openai', ...sim, initialPrompt: big.template }));
  const program = seedJobBody({ provider: 'openai', ...sim });
  const programPath = await createJob(m, { policy_optimization: { ...program.policy_optimization, modules: templates } });
  const via = (path: string, tag: string) => `${path}/prog-${tag}-{n}/chat/completions`;
  return [
    { name: 'one module (bench job)', path: via(m.proxyPath, 'one'), bodies: [oneModuleBody] },
    { name: 'one module, 2.7 KB template', path: via(bigPath, 'big'), bodies: matchedBodies([big], 16) },
    { name: '16 modules, matched', path: via(programPath, 'match'), bodies: matchedBodies(templates) },
    { name: '16 modules, no match', path: via(programPath, 'miss'), bodies: unmatchedBodies(templates) },
  ];
}

/**
 * Sequential (interleaved rounds, direct sends the program's matched bodies to the fake) and then
 * concurrent, one case at a time, with miprox's CPU per request at N connections.
 */
export async function programCostPhase(
  m: MiproxUnderTest,
  cases: Case[],
  direct: { origin: string; path: string; headers: Record<string, string> },
  o: { requests: number; warmup: number; rounds: number; connections: number; warmupMs: number; measureMs: number },
): Promise<ProgramCostRow[]> {
  const json = { 'content-type': 'application/json' };
  const specs = [
    { name: 'direct', origin: direct.origin, pathTemplate: direct.path, headers: direct.headers, bodies: cases[2]!.bodies },
    ...cases.map((c) => ({ name: c.name, origin: m.origin, pathTemplate: c.path, headers: json, bodies: c.bodies })),
  ];
  const spec = (s: (typeof specs)[number], connections: number, warmup: LoadSpec['warmup'], measure: LoadSpec['measure'], firstN: number): LoadSpec => ({
    origin: s.origin, pathTemplate: s.pathTemplate, headers: s.headers, body: s.bodies[0]!, bodies: s.bodies, connections, warmup, measure, firstN,
  });
  const sequential = await interleavedSequential(specs, (s, shape) => spec(s, shape.connections, shape.warmup, shape.measure, shape.firstN), o);
  const directSeq = sequential.get('direct')!.latency;
  const rows: ProgramCostRow[] = [];
  for (const s of specs.slice(1)) {
    const st = sequential.get(s.name)!;
    const cpu0 = processCpuMs(m.service.proc.pid);
    const conc = await runLoadInChild(spec(s, o.connections, { ms: o.warmupMs }, { ms: o.measureMs }, st.sent + 1_000_000), o.warmupMs + o.measureMs + 30_000);
    const cpu1 = processCpuMs(m.service.proc.pid);
    const seq = st.latency;
    rows.push({
      case: s.name, seq, addedP50: seq.p50 - directSeq.p50, addedP99: seq.p99 - directSeq.p99, rps: conc.rps,
      cpuMsPerRequest: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / Math.max(1, conc.nextN - st.sent - 1_000_000),
      errors: st.errors + conc.errors, errorSamples: [...st.errorSamples, ...conc.errorSamples].slice(0, 3),
    });
  }
  return rows;
}

export function printProgramCost(rows: ProgramCostRow[], o: { connections: number }): void {
  const ref = rows[0]!;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  console.log(`\nProgram cost per call (ms; added = case - direct in the same rounds; vs one = added p50 - the one-module row's; req/s and CPU at ${o.connections} connections):`);
  console.log(table(
    ['case', 'seq p50', 'seq p99', 'added p50', 'added p99', 'vs one (p50)', `req/s @${o.connections}`, 'vs one', 'miprox CPU/request', 'errors'],
    rows.map((r) => [
      r.case, fmtMs(r.seq.p50), fmtMs(r.seq.p99), signed(r.addedP50), signed(r.addedP99), signed(r.addedP50 - ref.addedP50),
      fmtRate(r.rps), `${((r.rps / ref.rps) * 100).toFixed(0)}%`, r.cpuMsPerRequest === null ? '-' : r.cpuMsPerRequest.toFixed(3), String(r.errors),
    ]),
  ));
  const errors = rows.flatMap((r) => r.errorSamples);
  if (errors.length > 0) console.log(`errors, e.g.: ${errors[0]}`);
}
