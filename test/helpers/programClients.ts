import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { systemPromptOf, type RecordedRequest } from '../fakes/fakeUpstream.js';
import { untilToolResult } from '../fakes/fakeBehavior.js';
import { addProgram } from './programs.js';
import { api, seedJobBody } from './server.js';
import { startSurfaceHarness, type PolicyProvider, type SurfaceHarness, type SurfaceJob } from './surfaces.js';

/**
 * A three-module program driven through the proxy URL by a client library, as apps built on those
 * libraries run it: per-request content rendered into each system text on the client side (a
 * LangChain ChatPromptTemplate, an AI SDK template literal, an Agents SDK instructions function),
 * structured output, a tool loop, and one call of no module. Each rollout is pinned to the baseline
 * or to a candidate that changed every module, so a test knows which text must reach the upstream.
 */
export const PROGRAM = [
  { name: 'extract', template: 'Extract the order facts for customer {customer}. Reply in JSON.' },
  { name: 'plan', template: 'You plan the support steps for {customer}. Today is {date}. Call tools when useful.' },
  { name: 'answer', template: 'Answer the question using only this context:\n{context}' },
] as const;
export type ModuleName = (typeof PROGRAM)[number]['name'];

/** The candidate's texts: the same placeholders, other words (extract's says nothing of JSON). */
export const CANDIDATE: Record<ModuleName, string> = {
  extract: 'CANDIDATE extract: list the facts of {customer}.',
  plan: 'CANDIDATE plan for {customer} on {date}.',
  answer: 'CANDIDATE answer strictly from:\n{context}',
};
export const CANDIDATE_ID = 'cand_program';

/** A system text that no module's template gives: such a call passes through untouched. */
export const UNMATCHED_SYSTEM = 'You are a translator. Translate to French.';

/** The user turns say which stage asks (the fake answers by them, whatever system text it got). */
export const ASK = { extract: 'EXTRACT: my order A-17 is late', plan: 'PLAN: what now?', answer: 'ANSWER: where is it?', other: 'OTHER: hello' } as const;
export const FACTS = { customer: 'Ada', order: 'A-17' };
export const PLAN_REPLY = 'Plan: refund the order.';
export const ANSWER_REPLY = 'It is in Paris.';
export const OTHER_REPLY = 'Bonjour.';

export function render(template: string, vars: Record<string, string>): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g, (whole, name: string) => vars[name] ?? whole);
}

/** What the fake upstream answers each stage: JSON facts, a tool call then a plan, an answer. */
function fakeReply(req: RecordedRequest): string {
  const asked = stageOf(req);
  if (asked.startsWith('EXTRACT')) return JSON.stringify(FACTS);
  if (asked.startsWith('PLAN')) return PLAN_REPLY;
  if (asked.startsWith('ANSWER')) return ANSWER_REPLY;
  return OTHER_REPLY;
}

/** Which stage asks: the first stage word in the conversation (later turns are tool calls and results). */
function stageOf(req: RecordedRequest): string {
  const body = req.body as { input?: unknown; messages?: unknown };
  return /(EXTRACT|PLAN|ANSWER|OTHER):/.exec(JSON.stringify(body.input ?? body.messages ?? ''))?.[1] ?? '';
}

const planTools = untilToolResult([{ id: 'call_lookup1', name: 'lookup_order', arguments: '{"order":"A-17"}' }]);

export interface ProgramHarness {
  readonly h: SurfaceHarness;
  readonly jobs: Map<PolicyProvider, SurfaceJob>;
}

/** One server, fake upstreams answering by stage, and a job per provider with the program and its candidate. */
export function useProgramHarness(providers: readonly PolicyProvider[]): ProgramHarness {
  let harness: SurfaceHarness | undefined;
  const jobs = new Map<PolicyProvider, SurfaceJob>();
  beforeAll(async () => {
    harness = await startSurfaceHarness();
    for (const p of providers) jobs.set(p, await newProgramJob(harness, p));
  });
  afterAll(async () => harness?.close());
  beforeEach(() => {
    for (const fake of [harness!.openai, harness!.anthropic]) {
      fake.setBehavior({ reply: fakeReply, toolCallsFor: (req) => (stageOf(req).startsWith('PLAN') ? planTools(req) : undefined) });
      fake.requests.length = 0;
    }
  });
  return {
    get h() {
      if (!harness) throw new Error('the program harness starts in beforeAll');
      return harness;
    },
    jobs,
  };
}

async function newProgramJob(h: SurfaceHarness, provider: PolicyProvider): Promise<SurfaceJob> {
  const model = provider === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o-mini';
  const seed = seedJobBody({
    provider, model, proposerProvider: 'sim', proposerModel: 'sim-proposer',
    ...(provider === 'openai_compatible' ? { inferenceUrl: h.openai.url } : {}),
    mipro: { online_rollouts_per_candidate: 1, online_proposer_min_rollouts: 1000, online_proposer_max_candidates: 50 },
  });
  const body = { policy_optimization: { ...seed.policy_optimization, modules: PROGRAM.map((m) => ({ ...m })) } };
  const res = await api(h.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: h.t.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  await addProgram(h.t.server.store, res.body.job_id, CANDIDATE_ID, { ...CANDIDATE }, 'answer');
  await new Promise((r) => setTimeout(r, 30)); // the runtime cache (20 ms) sees the candidate
  return { jobId: res.body.job_id, systemId: res.body.system_id, proxyUrl: res.body.proxy_url, provider };
}

/** Pins a fresh rollout id to a candidate (the public `/status` "done" step), before any of its calls. */
export async function pinRollout(h: SurfaceHarness, job: SurfaceJob, rolloutId: string, candidateId: string): Promise<void> {
  const res = await api(h.t.url, 'POST', `/api/prompt-learning/online/mipro/systems/${job.systemId}/status`, {
    key: h.t.key, body: { rollout_id: rolloutId, status: 'done', candidate_id: candidateId },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** A fetch that records what a library sent to the proxy and the proxy's answer headers. */
export interface Wire {
  fetch: typeof fetch;
  sent: Array<{ url: string; headers: Record<string, string>; body: any; answer: Record<string, string> }>;
}

export function recordingFetch(): Wire {
  const sent: Wire['sent'] = [];
  const wrapped = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = recordOf(new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)));
    const text = typeof init?.body === 'string' ? init.body : undefined;
    const res = await fetch(input, init);
    sent.push({ url, headers, body: text === undefined ? undefined : JSON.parse(text), answer: recordOf(res.headers) });
    return res;
  }) as typeof fetch;
  return { fetch: wrapped, sent };
}

function recordOf(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** One expected call of a rollout: its module (null: none) and the variables captured for it. */
export interface ExpectedCall {
  module: ModuleName | null;
  variables?: Record<string, string>;
  /** The system text the app sent (what the baseline keeps). */
  appSystem: string;
  /** How many upstream requests the call made (a tool loop makes two). */
  requests?: number;
}

/**
 * The four calls each program test makes, with the system text the app itself writes for each (its
 * library renders it from the run's values): the three modules, then a text of no module.
 */
export function expectedProgramCalls(v: { customer: string; date: string; context: string }): ExpectedCall[] {
  return [
    { module: 'extract', variables: { customer: v.customer }, appSystem: `Extract the order facts for customer ${v.customer}. Reply in JSON.` },
    { module: 'plan', variables: { customer: v.customer, date: v.date }, appSystem: `You plan the support steps for ${v.customer}. Today is ${v.date}. Call tools when useful.`, requests: 2 },
    { module: 'answer', variables: { context: v.context }, appSystem: `Answer the question using only this context:\n${v.context}` },
    { module: null, appSystem: UNMATCHED_SYSTEM },
  ];
}

/** The structured-output format type an upstream request carried: Responses `text.format`, chat `response_format`, Messages `output_config.format`. */
export function structuredFormatOf(body: unknown): string | undefined {
  const b = body as { text?: { format?: { type?: string } }; response_format?: { type?: string }; output_config?: { format?: { type?: string } } };
  return b.text?.format?.type ?? b.response_format?.type ?? b.output_config?.format?.type;
}

/** Where the upstream got the system text: Responses `instructions`, an input item's role, Messages `system`, a chat message's role. */
export function systemPlace(req: RecordedRequest): string {
  const body = req.body as Record<string, any>;
  if (typeof body.instructions === 'string' && body.instructions !== '') return 'instructions';
  if (body.system !== undefined) return 'system';
  const items: Array<{ role?: string }> = body.input ?? body.messages ?? [];
  const first = items.find((m) => m.role === 'system' || m.role === 'developer');
  return `${Array.isArray(body.input) ? 'input' : 'messages'}:${first?.role ?? 'none'}`;
}

/**
 * Checks a rollout from outside: the record has the calls in order with their modules and captured
 * variables, every upstream request carried the text the pinned candidate sends (rendered with the
 * call's values) or the app's own, and the proxy answered each library call with its module header.
 */
export async function expectProgramRollout(p: ProgramHarness, job: SurfaceJob, rolloutId: string, candidateId: string, calls: ExpectedCall[], wire?: Wire): Promise<RecordedRequest[]> {
  // Each upstream request is one call of the rollout (a tool loop's steps included).
  const expected = calls.flatMap((c) => Array.from({ length: c.requests ?? 1 }, () => c));
  const served = await p.h.served(job, rolloutId, expected.length);
  expect(served.candidateId).toBe(candidateId);
  const recorded = (served.rollout.calls as Array<{ module: string | null; variables: Record<string, string> | null; failed: boolean; seq: number }>).sort((a, b) => a.seq - b.seq);
  expect(recorded.map((c) => c.module)).toEqual(expected.map((c) => c.module));
  expect(recorded.map((c) => c.variables)).toEqual(expected.map((c) => (c.module === null ? null : c.variables ?? {})));
  expect(recorded.every((c) => !c.failed)).toBe(true);
  const upstream = p.h.upstreamOf(job.provider);
  expect(upstream).toHaveLength(expected.length);
  expected.forEach((c, i) => {
    const want = c.module !== null && candidateId === CANDIDATE_ID ? render(CANDIDATE[c.module], c.variables ?? {}) : c.appSystem;
    // json_object needs the word "json" in a message: a candidate that dropped it gets the proxy's line.
    const got = systemPromptOf(upstream[i]!).replace(/\n\nRespond in JSON\.$/, '');
    expect(got, `upstream request ${i} (${c.module ?? 'no module'})`).toBe(want);
  });
  if (wire) {
    const answered = wire.sent.map((s) => s.answer['x-mipro-module'] ?? (s.answer['x-mipro-unmatched'] === 'true' ? null : 'missing'));
    expect(answered).toEqual(expected.map((c) => c.module));
    expect(new Set(wire.sent.map((s) => s.answer['x-mipro-rollout-id']))).toEqual(new Set([rolloutId]));
  }
  await p.h.reward(job, rolloutId, candidateId);
  return upstream;
}

/**
 * The pass-through promise for a call of no module: the upstream got the library's body as sent
 * (same fields, values and key order), with only the policy's model and defaults changed or added.
 */
export function expectUntouched(client: any, upstream: any, policyKeys: readonly string[]): void {
  const strip = (b: Record<string, unknown>) => Object.fromEntries(Object.entries(b).filter(([k]) => !policyKeys.includes(k)));
  expect(JSON.stringify(strip(upstream))).toBe(JSON.stringify(strip(client)));
}
