import pino from 'pino';
import { generateApiKey, hashApiKey } from '../../src/api/auth.js';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, type StartOptions, startServer } from '../../src/main.js';
import { newProposalId } from '../../src/shared/ids.js';
import type { Store } from '../../src/store/types.js';
import type { Demo } from '../../src/optimizer/core/demos.js';
import { type TestDb, testDatabase } from './testDatabase.js';

export type { TestDb } from './testDatabase.js';

export interface TestServer {
  url: string;
  server: RunningServer;
  /** An API key of a fresh tenant. */
  key: string;
  tenantId: string;
  newTenantKey(): Promise<{ key: string; tenantId: string }>;
  close(): Promise<void>;
}

/** A real miprox server on a random loopback port, with its own SQLite file or PostgreSQL schema. */
export async function startTestServer(opts: { db?: TestDb; env?: Record<string, string>; start?: StartOptions } = {}): Promise<TestServer> {
  const database = testDatabase(opts.db ?? 'sqlite', 'api');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...database.env, ...opts.env });
  const server = await startServer(config, { logger: pino({ level: process.env.MIPROX_TEST_LOG ?? 'silent' }), ...opts.start });
  const newTenantKey = async () => {
    const tenant = await server.store.createTenant('test');
    const { key, prefix } = generateApiKey();
    await server.store.createApiKey({ tenantId: tenant.id, name: 'test', keyHash: hashApiKey(key), prefix });
    return { key, tenantId: tenant.id };
  };
  const first = await newTenantKey();
  return {
    url: server.url,
    server,
    key: first.key,
    tenantId: first.tenantId,
    newTenantKey,
    close: async () => {
      await server.close();
      await database.drop();
    },
  };
}

/** fetch with JSON in and out; returns status, headers and the parsed body. */
export async function api(
  base: string,
  method: string,
  path: string,
  opts: { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep text */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** The seed's exact request (../shared/reference/seed-mipro-online.txt), with a provider of choice. */
export function seedJobBody(overrides: { provider?: string; model?: string; proposerProvider?: string; proposerModel?: string; inferenceUrl?: string; mipro?: Record<string, unknown>; initialPrompt?: string } = {}) {
  return {
    policy_optimization: {
      algorithm: 'mipro',
      task_app_url: 'https://your-task-app.example.com',
      policy: {
        model: overrides.model ?? 'gpt-4o-mini',
        provider: overrides.provider ?? 'openai',
        temperature: 0.0,
        max_completion_tokens: 256,
        ...(overrides.inferenceUrl ? { inference_url: overrides.inferenceUrl } : {}),
      },
      mipro: {
        mode: 'online',
        bootstrap_train_seeds: [0, 1, 2, 3, 4],
        val_seeds: [100, 101, 102],
        online_pool: [0, 1, 2, 3, 4],
        online_proposer_mode: 'inline',
        online_proposer_min_rollouts: 20,
        online_rollouts_per_candidate: 10,
        proposer: {
          mode: 'instruction_only',
          model: overrides.proposerModel ?? 'gpt-4o-mini',
          provider: overrides.proposerProvider ?? 'openai',
          temperature: 0.7,
          max_tokens: 512,
          ...(overrides.inferenceUrl && overrides.proposerProvider === 'openai_compatible' ? { inference_url: overrides.inferenceUrl } : {}),
        },
        ...overrides.mipro,
      },
      ...(overrides.initialPrompt !== undefined ? { initial_prompt: { messages: [{ role: 'system', pattern: overrides.initialPrompt, order: 0 }] } } : {}),
    },
  };
}

/** A job on the offline simulator (policy and proposer), for loop tests that need no upstream. */
export function simJobBody(mipro: Record<string, unknown> = {}, initialPrompt?: string) {
  return seedJobBody({ provider: 'sim', model: 'sim-policy', proposerProvider: 'sim', proposerModel: 'sim-proposer', mipro, ...(initialPrompt !== undefined ? { initialPrompt } : {}) });
}

/**
 * Adds candidates to a job as a finished proposal would (children of the baseline that change
 * `module`), straight through the store: for tests that need a pool without scripting a proposer.
 */
export async function addCandidates(store: Store, jobId: string, ids: readonly string[], module = 'main'): Promise<void> {
  await addModuleCandidates(store, jobId, module, Object.fromEntries(ids.map((id) => [id, `Instruction ${id}`])));
}

/** The same with the new text of `module` given per candidate id (`{cand_a: 'Answer briefly: {context}'}`), and optionally its demos. */
export async function addModuleCandidates(store: Store, jobId: string, module: string, texts: Record<string, string>, demos: Record<string, Demo[]> = {}): Promise<void> {
  const now = new Date().toISOString();
  const lease = await store.startProposal({ jobId, id: newProposalId(), parentId: 'baseline', module, tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now });
  if (!lease) throw new Error(`job ${jobId} already has a running proposal`);
  await store.finishProposal({
    jobId, id: lease.id, status: 'succeeded', response: null, error: null, events: [],
    candidates: Object.entries(texts).map(([id, text]) => ({
      id, parentId: 'baseline', instruction: text, module, instructions: { [module]: text }, tip: 'none', proposalId: lease.id,
      ...(demos[id] ? { demos: { [module]: demos[id]! } } : {}),
    })),
  });
}

/** The two-module program of the surface tests: a plain prompt and a template with a `{context}` placeholder. */
export const PIPELINE_MODULES = [
  { name: 'extract', template: 'Extract the entities.' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
] as const;

/** A job on the offline simulator with the PIPELINE_MODULES program declared. */
export function pipelineJobBody(mipro: Record<string, unknown> = {}) {
  const body = simJobBody(mipro);
  return { policy_optimization: { ...body.policy_optimization, modules: PIPELINE_MODULES.map((m) => ({ ...m })) } };
}

/**
 * One rollout of the pipeline through the proxy, as an app makes it: `extract`, then `answer` with
 * its context filled in (the proxy captures it from the system text). Returns the proxy's answers.
 */
export async function pipelineCalls(chatCompletionsUrl: string, context = 'Paris is in France.'): Promise<Response[]> {
  const call = (system: string, user: string) => fetch(chatCompletionsUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'any', messages: [{ role: 'system', content: system }, { role: 'user', content: user }] }),
  });
  return [await call(PIPELINE_MODULES[0].template, 'Where is Paris?'), await call(`Answer from this context:\n${context}`, 'Where is Paris?')];
}
