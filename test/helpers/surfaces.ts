import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/fakeAnthropic.js';
import { startFakeUpstream, systemPromptOf, type FakeUpstream, type RecordedRequest } from '../fakes/fakeUpstream.js';
import { addModuleCandidates, api, seedJobBody, startTestServer, type TestDb, type TestServer } from './server.js';
import { waitFor } from './waitFor.js';

/**
 * One miprox server with a fake OpenAI upstream (chat completions and Responses) and a fake
 * Anthropic upstream (Messages), for tests that call the proxy's surfaces with every provider.
 * Each job has a known candidate beside the baseline, so a test can say which system text must
 * have reached the upstream for the candidate that served a rollout.
 */
export const CLIENT_SYSTEM = 'You are a helpful assistant. Answer briefly.';
export const CANDIDATE_TEXT = 'CANDIDATE: answer in one precise sentence.';

export type PolicyProvider = 'openai' | 'anthropic' | 'openai_compatible' | 'sim';

export interface SurfaceJob {
  jobId: string;
  systemId: string;
  proxyUrl: string;
  provider: PolicyProvider;
}

export interface SurfaceHarness {
  t: TestServer;
  openai: FakeUpstream;
  anthropic: FakeAnthropic;
  newJob(provider: PolicyProvider): Promise<SurfaceJob>;
  /** The rollout's record once written, its served candidate and the system text that candidate sends. */
  served(job: SurfaceJob, rolloutId: string, calls?: number): Promise<{ candidateId: string; expectedSystem: string; rollout: Record<string, any> }>;
  /** Reports a reward for the rollout and checks it was counted for the candidate that served it. */
  reward(job: SurfaceJob, rolloutId: string, candidateId: string): Promise<void>;
  /** The upstream requests of a provider (both fakes record every request). */
  upstreamOf(provider: PolicyProvider): RecordedRequest[];
  close(): Promise<void>;
}

export async function startSurfaceHarness(opts: { db?: TestDb } = {}): Promise<SurfaceHarness> {
  const openai = await startFakeUpstream({ reply: 'Paris.' });
  const anthropic = await startFakeAnthropic({ reply: 'Paris.' });
  const t = await startTestServer({
    ...(opts.db ? { db: opts.db } : {}),
    env: {
      OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url,
      ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: anthropic.url,
      MIPROX_ALLOWED_INFERENCE_HOSTS: `127.0.0.1:${openai.port}`,
    },
    start: { cacheTtlMs: 20 },
  });
  return {
    t, openai, anthropic,
    async newJob(provider) {
      const model = provider === 'anthropic' ? 'claude-haiku-4-5' : provider === 'sim' ? 'sim-policy' : 'gpt-4o-mini';
      const body = seedJobBody({
        provider, model, initialPrompt: CLIENT_SYSTEM, proposerProvider: 'sim', proposerModel: 'sim-proposer',
        ...(provider === 'openai_compatible' ? { inferenceUrl: openai.url } : {}),
        mipro: { online_rollouts_per_candidate: 1, online_proposer_min_rollouts: 1000 },
      });
      const res = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      await addModuleCandidates(t.server.store, res.body.job_id, 'main', { cand_x: CANDIDATE_TEXT });
      await new Promise((r) => setTimeout(r, 30)); // the runtime cache (20 ms) sees the candidate
      return { jobId: res.body.job_id, systemId: res.body.system_id, proxyUrl: res.body.proxy_url, provider };
    },
    async served(job, rolloutId, calls = 1) {
      const path = `/api/systems/${job.systemId}/rollouts/${rolloutId}`;
      await waitFor(async () => ((await api(t.url, 'GET', path, { key: t.key })).body?.calls?.length ?? 0) >= calls);
      const rollout = (await api(t.url, 'GET', path, { key: t.key })).body as Record<string, any>;
      const candidateId = rollout.candidate_id as string;
      return { candidateId, expectedSystem: candidateId === 'cand_x' ? CANDIDATE_TEXT : CLIENT_SYSTEM, rollout };
    },
    async reward(job, rolloutId, candidateId) {
      const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.systemId}/reward`, { key: t.key, body: { rollout_id: rolloutId, reward_info: { score: 1 } } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ status: 'ok', rollout_id: rolloutId, candidate_id: candidateId, reward: 1, duplicate: false });
    },
    upstreamOf: (provider) => (provider === 'anthropic' ? anthropic.requests : provider === 'sim' ? [] : openai.requests),
    async close() {
      await t.close();
      await openai.close();
      await anthropic.close();
    },
  };
}

/** Where the system text must be in an upstream request: which path, and the text found there. */
export function upstreamSystem(req: RecordedRequest): { path: string; system: string; field: 'instructions' | 'input' | 'system' | 'messages' } {
  const body = req.body as Record<string, unknown>;
  const field = typeof body.instructions === 'string' ? 'instructions' : body.system !== undefined ? 'system' : Array.isArray(body.input) ? 'input' : 'messages';
  return { path: req.url.split('?')[0] ?? '', system: systemPromptOf(req), field };
}

export type SurfaceName = 'chat' | 'responses' | 'messages';

/** Which upstream path and field carry the system text for a surface on a provider (null: sim, no upstream). */
export function expectedUpstream(provider: PolicyProvider, surface: SurfaceName, responsesField: 'instructions' | 'input' = 'instructions'): { path: string; field: string } | null {
  if (provider === 'sim') return null;
  if (provider === 'anthropic') return { path: '/v1/messages', field: 'system' };
  // Natively the system text stays where the client put it: `instructions`, or a system/developer input item.
  if (provider === 'openai' && surface === 'responses') return { path: '/v1/responses', field: responsesField };
  return { path: '/v1/chat/completions', field: 'messages' };
}

/**
 * One client row's promise: every upstream call of the rollout carried the serving candidate's
 * system text in the surface's field, the rollout record has its calls, and a reward lands on it.
 */
export async function expectRow(h: SurfaceHarness, job: SurfaceJob, rolloutId: string, surface: SurfaceName, calls = 1, responsesField: 'instructions' | 'input' = 'instructions'): Promise<void> {
  const served = await h.served(job, rolloutId, calls);
  expect(served.rollout.calls).toHaveLength(calls);
  expect(served.rollout.calls.every((c: { failed: boolean; module: string }) => !c.failed && c.module === 'main')).toBe(true);
  const where = expectedUpstream(job.provider, surface, responsesField);
  if (where !== null) {
    const sent = h.upstreamOf(job.provider);
    expect(sent).toHaveLength(calls);
    for (const req of sent) {
      const seen = upstreamSystem(req);
      expect({ path: seen.path, field: seen.field, system: seen.system }).toEqual({ ...where, system: served.expectedSystem });
    }
  }
  await h.reward(job, rolloutId, served.candidateId);
}

/** What useSurfaceHarness hands a test file: the harness and its job per provider. */
export interface SurfaceSuite { readonly h: SurfaceHarness; readonly jobs: Map<PolicyProvider, SurfaceJob> }

/**
 * One harness per test file with a job per provider (vitest hooks): before each test the fake
 * upstreams answer "Paris." and forget earlier requests. `s.h` and `s.jobs` are set in beforeAll.
 */
export function useSurfaceHarness(providers: readonly PolicyProvider[]): SurfaceSuite {
  let harness: SurfaceHarness | undefined;
  const jobs = new Map<PolicyProvider, SurfaceJob>();
  beforeAll(async () => {
    harness = await startSurfaceHarness();
    for (const p of providers) jobs.set(p, await harness.newJob(p));
  });
  afterAll(async () => harness?.close());
  beforeEach(() => {
    for (const fake of [harness!.openai, harness!.anthropic]) {
      fake.setBehavior({ reply: 'Paris.' });
      fake.requests.length = 0;
    }
  });
  return {
    get h() {
      if (!harness) throw new Error('the surface harness starts in beforeAll');
      return harness;
    },
    jobs,
  };
}

/**
 * A proxied call to `provider`'s job refused before anything was dispatched or recorded: the 422
 * names `path` (and says `why`), and neither an upstream request nor a rollout record came of it.
 */
export async function expectRefused(s: SurfaceSuite, provider: PolicyProvider, res: { status: number; body: any; rid: string }, path: string, why: RegExp): Promise<void> {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  const message: string = res.body.error.message;
  expect(message).toContain(`${path}: `);
  expect(message).toMatch(why);
  expect(s.h.upstreamOf(provider)).toHaveLength(0);
  const job = s.jobs.get(provider)!;
  expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${res.rid}`, { key: s.h.t.key })).status).toBe(404);
}
