import { startFakeUpstream, type RecordedRequest } from '../../test/fakes/fakeUpstream.js';
import { createSeededRng, type Rng } from '../../src/shared/rng.js';
import { startMiprox, type MiproxUnderTest } from './miproxService.js';

/**
 * The routing half of issue 11's "pipeline-3" targets, measured end to end rather than simulated:
 * `miprox serve` in its own process (SQLite file, the `openai` provider pointed at a recording fake
 * upstream, the offline `sim` proposer so proposals really happen), a declared 3-module templated
 * program with the seed request's MIPRO settings, and an app that drives rollouts through the proxy
 * URL with several calls each, reporting a reward per rollout while candidates are proposed.
 *
 * Every call the app makes carries a unique marker in its user message, so the request the upstream
 * received is found for each one. A matched call is counted right when the upstream's system text is
 * exactly what the rollout's candidate (the `x-mipro-candidate-id` the proxy answered) sets for that
 * call's module, rendered with the call's variables (captured from the app's text, explicit values
 * winning); the rendering here is this file's own, not the proxy's. A call of no module is counted
 * right when the upstream received the app's messages and tools byte for byte (the model and
 * defaults are still forced, SPEC.md). The rollout records must name each call's module too.
 */

export const ROUTING_MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'retrieve', template: 'Write a search query for: {topic}' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
] as const;

type ModuleName = (typeof ROUTING_MODULES)[number]['name'];

export interface RoutingResult {
  rollouts: number;
  /**
   * Calls of a declared module, by module; `right` reached the upstream with its own module's text;
   * `changed` of them had to be changed on the way (the served candidate's text, rendered, differs
   * from what the app sent), so a proxy that forwarded calls untouched would fail those.
   */
  matched: Record<ModuleName, { calls: number; right: number; changed: number }>;
  /** Of the matched calls: by how the module was found. */
  namedByHeader: number;
  explicitVariables: number;
  responsesSurface: number;
  /** Calls of no module: `identical` reached the upstream with the app's messages and tools unchanged. */
  unmatched: { calls: number; identical: number };
  /** Rollouts whose calls did not all get one candidate (must be 0). */
  splitRollouts: number;
  /** Calls whose rollout record named another module than the one the app meant (must be 0). */
  recordMismatches: number;
  /** Candidates that served at least one call, and how many of them change each module. */
  candidatesServed: number;
  candidatesByModule: Record<string, number>;
  /** First few wrong calls, for the report when anything is off. */
  examples: string[];
  seconds: number;
}

export interface SentCall {
  marker: string;
  rolloutId: string;
  module: ModuleName | null;
  variables: Record<string, string>;
  candidateId: string | null;
  /** The system text the app sent. */
  appSystem: string;
  /** For a call of no module: what the app sent. */
  sent?: { messages: unknown; tools: unknown };
  surface: 'chat' | 'responses';
  /** How the call named its module and variables. */
  how: 'text' | 'header' | 'explicit';
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;
const render = (text: string, vars: Record<string, string>): string =>
  text.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(vars, name) ? vars[name]! : whole));

const TOPICS = ['the Eiffel tower', 'card fees abroad', 'a {braced} query', 'émigré café ☕ hours', 'transfer limits'];
const CONTEXTS = ['It is 330 m tall.', 'Fees: 2% per payment.\nNo fee in the EU.', 'Open 9-17, closed {Sunday}.', '', 'Line one.\n\nLine three.'];
const UNRELATED = [
  'You are a tool-using agent. Call the tools when needed.',
  'Summarise the conversation in one line.',
];

/**
 * Drives `rollouts` rollouts, `concurrency` at a time. Per rollout: `extract` once (a Responses call in
 * a quarter of rollouts), `retrieve` 0-3 times (captured {topic}), `answer` once (captured {context};
 * explicit `mipro.variables` in a third of rollouts; named by the `x-mipro-module` header with an
 * unrelated text in a fifth), and a call of no module in a fifth.
 */
export async function measureProgramRouting(o: { rollouts: number; concurrency: number; seed?: number }): Promise<RoutingResult> {
  const started = Date.now();
  const upstream = await startFakeUpstream({ reply: 'ok' });
  let m: MiproxUnderTest | null = null;
  try {
    m = await startMiprox({ upstreamUrl: upstream.url });
    const jobBody = routingJobBody();
    const jobRes = await fetch(`${m.origin}/api/policy-optimization/online/jobs`, {
      method: 'POST', headers: { authorization: `Bearer ${m.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(jobBody),
    });
    const job = (await jobRes.json()) as { job_id: string; system_id: string; proxy_url: string };
    if (jobRes.status !== 200) throw new Error(`routing job: ${jobRes.status} ${JSON.stringify(job)}`);
    const rng = createSeededRng(o.seed ?? 11);
    const calls: SentCall[] = [];
    let splitRollouts = 0;
    let next = 0;
    const worker = async () => {
      while (next < o.rollouts) {
        const i = next++;
        const rolloutCalls = await runRollout(m!, job, i, rng);
        calls.push(...rolloutCalls);
        if (new Set(rolloutCalls.map((c) => c.candidateId)).size !== 1) splitRollouts++;
        await reward(m!, job.system_id, `r${i}`, rng.next() < 0.5 ? 1 : 0);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const programs = await candidatePrograms(m, job.system_id);
    const received = new Map<string, RecordedRequest>();
    for (const r of upstream.requests) {
      const marker = markerOf(r);
      if (marker) received.set(marker, r);
    }
    const result = tally(calls, programs, received);
    result.recordMismatches = await recordMismatches(m, job.system_id, calls);
    return { ...result, rollouts: o.rollouts, splitRollouts, seconds: (Date.now() - started) / 1000 };
  } finally {
    await m?.cleanup();
    await upstream.close();
  }
}

/** The seed request's MIPRO settings on the declared program; policy through the fake, `sim` proposer. */
function routingJobBody() {
  return {
    policy_optimization: {
      algorithm: 'mipro',
      task_app_url: 'https://your-task-app.example.com',
      modules: ROUTING_MODULES,
      policy: { model: 'gpt-4o-mini', provider: 'openai', temperature: 0, max_completion_tokens: 64 },
      mipro: {
        mode: 'online', bootstrap_train_seeds: [0, 1, 2, 3, 4], val_seeds: [100, 101, 102], online_pool: [0, 1, 2, 3, 4],
        online_proposer_mode: 'inline', online_proposer_min_rollouts: 20, online_rollouts_per_candidate: 10,
        online_proposer_max_candidates: 20,
        proposer: { mode: 'instruction_only', model: 'sim-proposer', provider: 'sim', temperature: 0.7, max_tokens: 512 },
      },
    },
  };
}

async function runRollout(m: MiproxUnderTest, job: { proxy_url: string }, i: number, rng: Rng): Promise<SentCall[]> {
  const rolloutId = `r${i}`;
  const base = `${job.proxy_url}/${rolloutId}`;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
  const out: SentCall[] = [];
  let k = 0;
  const marker = () => `call ${rolloutId}.${k++}`;
  const chat = async (module: ModuleName | null, system: string, variables: Record<string, string>, extra: { how?: SentCall['how']; headers?: Record<string, string>; mipro?: unknown; tools?: unknown; parts?: boolean } = {}) => {
    const mk = marker();
    const messages = [
      { role: 'system', content: extra.parts ? [{ type: 'text', text: system }] : system },
      { role: 'user', content: mk },
    ];
    const body = { model: 'app-model', messages, ...(extra.tools ? { tools: extra.tools } : {}), ...(extra.mipro ? { mipro: extra.mipro } : {}) };
    const res = await post(`${base}/chat/completions`, body, extra.headers);
    out.push({ marker: mk, rolloutId, module, variables, candidateId: res, surface: 'chat', how: extra.how ?? 'text', appSystem: system, ...(module === null ? { sent: { messages, tools: extra.tools } } : {}) });
  };
  // extract: the template's own text, as chat or as a Responses call (`instructions`).
  if (rng.next() < 0.25) {
    const mk = marker();
    const res = await post(`${base}/responses`, { model: 'app-model', instructions: ROUTING_MODULES[0].template, input: mk });
    out.push({ marker: mk, rolloutId, module: 'extract', variables: {}, candidateId: res, surface: 'responses', how: 'text', appSystem: ROUTING_MODULES[0].template });
  } else {
    await chat('extract', ROUTING_MODULES[0].template, {});
  }
  const retrieves = Math.floor(rng.next() * 4);
  for (let j = 0; j < retrieves; j++) {
    const topic = pick(TOPICS);
    await chat('retrieve', `Write a search query for: ${topic}`, { topic });
  }
  const captured = pick(CONTEXTS);
  const u = rng.next();
  if (u < 0.2) {
    const context = pick(CONTEXTS);
    await chat('answer', 'Answer the user.', { context }, { how: 'header', headers: { 'x-mipro-module': 'answer' }, mipro: { variables: { context } } });
  } else if (u < 0.53) {
    const context = `${pick(CONTEXTS)} (explicit)`;
    await chat('answer', `Answer from this context:\n${captured}`, { context }, { how: 'explicit', mipro: { variables: { context } } });
  } else {
    await chat('answer', `Answer from this context:\n${captured}`, { context: captured }, { parts: rng.next() < 0.5 });
  }
  if (rng.next() < 0.2) {
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
    await chat(null, pick(UNRELATED), {}, { tools, parts: rng.next() < 0.5 });
  }
  return out;
}

/** POSTs to the proxy; the candidate it served (null when the call failed, which counts as wrong). */
async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<string | null> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status === 200 ? res.headers.get('x-mipro-candidate-id') : null;
}

async function reward(m: MiproxUnderTest, systemId: string, rolloutId: string, score: number): Promise<void> {
  const res = await fetch(`${m.origin}/api/v1/online/sessions/${systemId}/reward`, {
    method: 'POST', headers: { authorization: `Bearer ${m.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ rollout_id: rolloutId, reward_info: { score } }),
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`reward for ${rolloutId}: ${res.status}`);
}

/** Every candidate's whole program (module -> text), from the public candidates list. */
async function candidatePrograms(m: MiproxUnderTest, systemId: string): Promise<Map<string, { instructions: Record<string, string>; changed: string[] }>> {
  const out = new Map<string, { instructions: Record<string, string>; changed: string[] }>();
  let cursor: string | null = null;
  do {
    const url: string = `${m.origin}/api/systems/${systemId}/candidates?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = (await (await fetch(url, { headers: { authorization: `Bearer ${m.apiKey}` } })).json()) as {
      items: { candidate_id: string; instructions: Record<string, string>; changed_modules: string[] }[]; next_cursor: string | null;
    };
    for (const c of page.items) out.set(c.candidate_id, { instructions: c.instructions, changed: c.changed_modules });
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

function markerOf(r: RecordedRequest): string | null {
  const body = r.body as { messages?: { role: string; content: unknown }[]; input?: unknown } | undefined;
  const text = typeof body?.input === 'string' ? body.input : body?.messages?.find((x) => x.role === 'user')?.content;
  return typeof text === 'string' && text.startsWith('call ') ? text : null;
}

/** The system text the upstream received: chat's first system message, or Responses' `instructions`. */
function upstreamSystem(r: RecordedRequest): string | null {
  const body = r.body as { messages?: { role: string; content: unknown }[]; instructions?: unknown };
  if (typeof body.instructions === 'string') return body.instructions;
  const content = body.messages?.find((x) => x.role === 'system')?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p.text ?? '').join('');
  return null;
}

/** Counts right and wrong calls (exported for its test). */
export function tally(calls: readonly SentCall[], programs: ReadonlyMap<string, { instructions: Record<string, string>; changed: string[] }>, received: ReadonlyMap<string, RecordedRequest>): Omit<RoutingResult, 'rollouts' | 'splitRollouts' | 'seconds'> {
  const matched = Object.fromEntries(ROUTING_MODULES.map((x) => [x.name, { calls: 0, right: 0, changed: 0 }])) as RoutingResult['matched'];
  const unmatched = { calls: 0, identical: 0 };
  const examples: string[] = [];
  const served = new Set<string>();
  let responsesSurface = 0;
  for (const c of calls) {
    const got = received.get(c.marker);
    if (c.candidateId) served.add(c.candidateId);
    if (c.module === null) {
      unmatched.calls++;
      const body = got?.body as { messages?: unknown; tools?: unknown } | undefined;
      // Identical, and answered: a call that failed after the upstream got it does not count.
      if (c.candidateId !== null && body && JSON.stringify(body.messages) === JSON.stringify(c.sent!.messages) && JSON.stringify(body.tools) === JSON.stringify(c.sent!.tools)) unmatched.identical++;
      else if (examples.length < 5) examples.push(`${c.marker}: unmatched call changed on its way (${got ? 'received' : 'never received'})`);
      continue;
    }
    const cell = matched[c.module];
    cell.calls++;
    if (c.surface === 'responses') responsesSurface++;
    const program = c.candidateId ? programs.get(c.candidateId) : undefined;
    const expected = program ? render(program.instructions[c.module] ?? '', c.variables) : null;
    const actual = got ? upstreamSystem(got) : null;
    if (expected !== null && expected !== c.appSystem) cell.changed++;
    if (expected !== null && actual === expected) cell.right++;
    else if (examples.length < 5) examples.push(`${c.marker} (${c.module}, ${c.candidateId}): expected ${JSON.stringify(expected)}, upstream got ${JSON.stringify(actual)}`);
  }
  const namedByHeader = calls.filter((c) => c.how === 'header').length;
  const explicitVariables = calls.filter((c) => c.how === 'explicit').length;
  const candidatesByModule: Record<string, number> = {};
  for (const [id, p] of programs) if (served.has(id)) for (const mod of p.changed) candidatesByModule[mod] = (candidatesByModule[mod] ?? 0) + 1;
  return { matched, namedByHeader, explicitVariables, responsesSurface, unmatched, recordMismatches: 0, candidatesServed: served.size, candidatesByModule, examples };
}

/** Calls whose rollout record names another module than the one the app meant (null for no module). */
async function recordMismatches(m: MiproxUnderTest, systemId: string, calls: readonly SentCall[]): Promise<number> {
  const byRollout = new Map<string, SentCall[]>();
  for (const c of calls) byRollout.set(c.rolloutId, [...(byRollout.get(c.rolloutId) ?? []), c]);
  let wrong = 0;
  for (const [rolloutId, sent] of byRollout) {
    const res = await fetch(`${m.origin}/api/systems/${systemId}/rollouts/${rolloutId}`, { headers: { authorization: `Bearer ${m.apiKey}` } });
    const body = (await res.json()) as { calls?: { module: string | null }[] };
    const modules = body.calls?.map((c) => c.module) ?? [];
    const meant = sent.map((c) => c.module);
    // A call recorded under another module, missing, or recorded beyond the calls made.
    wrong += meant.filter((x, i) => modules[i] !== x).length + Math.max(0, modules.length - meant.length);
  }
  return wrong;
}

/** Calls per module whose text the proxy had to change, below which the measurement proves nothing. */
const MIN_CHANGED_CALLS = 20;

/** The routing targets (issue 11): every matched call with its own module's text, every unmatched call unchanged. */
export function routingVerdicts(r: RoutingResult): { line: string; met: boolean }[] {
  const cells = Object.values(r.matched);
  const calls = cells.reduce((s, c) => s + c.calls, 0);
  const right = cells.reduce((s, c) => s + c.right, 0);
  const share = (a: number, b: number) => `${a.toLocaleString('en-US')} / ${b.toLocaleString('en-US')} (${b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`})`;
  // Every module must have calls the proxy had to change: else 100% could come from forwarding untouched.
  const tested = cells.every((c) => c.changed >= MIN_CHANGED_CALLS);
  return [
    { line: `calls that reached the upstream with their own module's prompt: ${share(right, calls)} (target 100%)`, met: tested && right === calls && r.splitRollouts === 0 && r.recordMismatches === 0 },
    { line: `calls of no module passed through byte-identical: ${share(r.unmatched.identical, r.unmatched.calls)} (target 100%)`, met: r.unmatched.calls > 0 && r.unmatched.identical === r.unmatched.calls },
  ];
}

/** Markdown for the pipeline-3 section: what ran, the counts per module, the two verdicts. */
export function routingMarkdown(r: RoutingResult): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const row = (what: string, a: number, b: number, changed?: number) => `| ${what} | ${n(a)} / ${n(b)} | ${changed === undefined ? 'n/a' : n(changed)} |`;
  const verdicts = routingVerdicts(r);
  const changed = ROUTING_MODULES.map((x) => `${x.name} ${r.candidatesByModule[x.name] ?? 0}`).join(' / ');
  return [
    `### Routing through the real proxy (${n(r.rollouts)} rollouts, ${r.seconds.toFixed(0)} s)`,
    'Measured, not simulated (bench/lib/programRouting.ts): `miprox serve` in its own process on a SQLite file, the `openai`',
    'provider pointed at a recording fake upstream, the offline `sim` proposer, the three modules above declared as templates',
    '(`extract` plain, `retrieve` with `{topic}`, `answer` with `{context}`), the seed request\'s MIPRO settings. An app drives the',
    'rollouts 8 at a time through the proxy URL and reports a coin-flip reward for each while proposals add candidates. Each',
    'call\'s upstream request is found by a marker in its user message; a call is right when the upstream\'s system text is',
    'exactly the text the served candidate (`x-mipro-candidate-id`) sets for that module, rendered with the call\'s variables',
    'by this file\'s own renderer; a call of no module is right when its messages and tools arrived byte for byte.',
    `"Changed on the way": calls whose right text differs from what the app sent (a child candidate served them, or explicit`,
    `variables overrode the captured ones), which a proxy forwarding calls untouched would fail; the verdict needs at least ${MIN_CHANGED_CALLS} per module.`,
    '',
    '| calls | right / all | changed on the way |',
    '|---|---:|---:|',
    row(`extract (${n(r.responsesSurface)} of them Responses calls with \`instructions\`)`, r.matched.extract.right, r.matched.extract.calls, r.matched.extract.changed),
    row('retrieve (0-3 per rollout, `{topic}` captured)', r.matched.retrieve.right, r.matched.retrieve.calls, r.matched.retrieve.changed),
    row(`answer (\`{context}\` captured; ${n(r.explicitVariables)} with explicit \`mipro.variables\` overriding it; ${n(r.namedByHeader)} named by \`x-mipro-module\` with another text)`, r.matched.answer.right, r.matched.answer.calls, r.matched.answer.changed),
    row('no module (tools, content parts)', r.unmatched.identical, r.unmatched.calls),
    '',
    `Rollouts whose calls were served by more than one candidate: ${r.splitRollouts}. Calls whose rollout record names another module: ${r.recordMismatches}. ` +
      `Candidates that served calls: ${r.candidatesServed} (children changing ${changed}).`,
    ...(r.examples.length > 0 ? ['', 'Wrong calls (first few):', ...r.examples.map((e) => `- ${e}`)] : []),
    '',
    `**Routing: ${verdicts.filter((v) => v.met).length} of ${verdicts.length} targets met.**`,
    ...verdicts.map((v) => `- ${v.met ? 'PASS' : '**MISS**'}: ${v.line}`),
  ].join('\n');
}
