import { describe, expect, it } from 'vitest';
import { type TestServer, api, seedJobBody, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const JOBS = '/api/policy-optimization/online/jobs';

type Body = ReturnType<typeof seedJobBody>;
/** Returns the seed request with one change made by `mutate`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke arbitrary wrong shapes
function mutated(mutate: (po: any) => void): Body {
  const body = seedJobBody();
  mutate(body.policy_optimization);
  return body;
}

interface Case {
  name: string;
  status: number;
  /** Every one of these paths must be named in error.details. */
  paths: string[];
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  key?: 'none' | 'wrong';
}

const cases: Case[] = [
  { name: 'missing policy', status: 422, paths: ['policy_optimization.policy'], body: mutated((p) => delete p.policy) },
  { name: 'missing policy model', status: 422, paths: ['policy_optimization.policy.model'], body: mutated((p) => delete p.policy.model) },
  { name: 'unknown provider', status: 422, paths: ['policy_optimization.policy.provider'], body: mutated((p) => (p.policy.provider = 'azure-magic')) },
  { name: 'temperature of the wrong type', status: 422, paths: ['policy_optimization.policy.temperature'], body: mutated((p) => (p.policy.temperature = 'hot' as never)) },
  { name: 'negative max_completion_tokens', status: 422, paths: ['policy_optimization.policy.max_completion_tokens'], body: mutated((p) => (p.policy.max_completion_tokens = -5)) },
  { name: 'openai_compatible without inference_url', status: 422, paths: ['policy_optimization.policy.inference_url'], body: mutated((p) => (p.policy.provider = 'openai_compatible')) },
  { name: 'unknown algorithm', status: 422, paths: ['policy_optimization.algorithm'], body: mutated((p) => (p.algorithm = 'gepa')) },
  // The older jobs API's top-level `algorithm` was read only beside a bare config_body that named none.
  { name: 'unknown top-level algorithm beside a wrapped config_body', status: 422, paths: ['algorithm'], body: { algorithm: 'gepa', config_body: seedJobBody() } },
  { name: 'unknown top-level algorithm beside a bare config_body naming mipro', status: 422, paths: ['algorithm'], body: { algorithm: 'gepa', config_body: seedJobBody().policy_optimization } },
  { name: 'unknown top-level algorithm beside policy_optimization', status: 422, paths: ['algorithm'], body: { algorithm: 'gepa', ...seedJobBody() } },
  { name: 'mode other than online', status: 422, paths: ['policy_optimization.mipro.mode'], body: mutated((p) => (p.mipro.mode = 'offline')) },
  { name: 'zero rollouts per candidate', status: 422, paths: ['policy_optimization.mipro.online_rollouts_per_candidate'], body: mutated((p) => (p.mipro.online_rollouts_per_candidate = 0)) },
  { name: 'fractional min rollouts', status: 422, paths: ['policy_optimization.mipro.online_proposer_min_rollouts'], body: mutated((p) => (p.mipro.online_proposer_min_rollouts = 2.5)) },
  { name: 'empty bootstrap seeds', status: 422, paths: ['policy_optimization.mipro.bootstrap_train_seeds'], body: mutated((p) => (p.mipro.bootstrap_train_seeds = [])) },
  { name: 'empty val seeds range', status: 422, paths: ['policy_optimization.mipro.val_seeds'], body: mutated((p) => (p.mipro.val_seeds = { start: 5, end: 5 } as never)) },
  { name: 'val seeds shared with the online pool', status: 422, paths: ['policy_optimization.mipro.val_seeds'], body: mutated((p) => (p.mipro.val_seeds = [3, 100] as never)) },
  { name: 'seeds that are not integers', status: 422, paths: ['policy_optimization.mipro.online_pool.0', 'policy_optimization.mipro.online_pool.1'], body: mutated((p) => (p.mipro.online_pool = ['a', 'b'] as never)) },
  { name: 'unsupported proposer mode', status: 422, paths: ['policy_optimization.mipro.proposer.mode'], body: mutated((p) => (p.mipro.proposer.mode = 'few_shot')) },
  { name: 'unsupported online_proposer_mode', status: 422, paths: ['policy_optimization.mipro.online_proposer_mode'], body: mutated((p) => (p.mipro.online_proposer_mode = 'batch')) },
  { name: 'missing proposer', status: 422, paths: ['policy_optimization.mipro.proposer'], body: mutated((p) => delete p.mipro.proposer) },
  {
    name: 'demos_only with max_demos 0 (no proposal could ever be made)', status: 422, paths: ['policy_optimization.mipro.max_demos'],
    body: mutated((p) => Object.assign(p.mipro, { max_demos: 0, proposer: { ...p.mipro.proposer, mode: 'demos_only' } })),
  },
  { name: 'max candidates of zero', status: 422, paths: ['policy_optimization.mipro.online_proposer_max_candidates'], body: mutated((p) => (p.mipro.online_proposer_max_candidates = 0)) },
  {
    name: 'several bad fields at once are all listed', status: 422,
    paths: ['policy_optimization.algorithm', 'policy_optimization.mipro.mode', 'policy_optimization.mipro.online_rollouts_per_candidate', 'policy_optimization.policy.model'],
    body: mutated((p) => { p.algorithm = 'x'; p.mipro.mode = 'y'; p.mipro.online_rollouts_per_candidate = -1; delete p.policy.model; }),
  },
  { name: 'no configuration at all', status: 422, paths: ['policy_optimization'], body: { hello: 'world' } },
  { name: 'configuration that is not an object', status: 422, paths: ['policy_optimization'], body: { policy_optimization: [1, 2] } },
  { name: 'body that is an array', status: 422, paths: [''], body: [1, 2, 3] },
  {
    name: 'an inference_url this server may not call is listed with the other bad fields', status: 422,
    paths: ['policy_optimization.policy.inference_url', 'policy_optimization.policy.temperature'],
    body: mutated((p) => { p.policy.provider = 'openai_compatible'; p.policy.inference_url = 'http://169.254.169.254/v1'; p.policy.temperature = -1; }),
  },
  { name: 'override of the wrong type is reported under the override', status: 422, paths: ['overrides.prompt_learning.policy.model'], body: { algorithm: 'mipro', config_body: seedJobBody(), overrides: { 'prompt_learning.policy.model': 5 } } },
  { name: 'both wrappers at once', status: 422, paths: ['prompt_learning'], body: { ...seedJobBody(), prompt_learning: seedJobBody().policy_optimization } },
  { name: 'bad override path', status: 422, paths: ['overrides.policy.model.x'], body: { algorithm: 'mipro', config_body: seedJobBody(), overrides: { 'policy.model.x': 1 } } },
  {
    name: 'a bad value inside an overridden list is reported at its own path under the override', status: 422,
    paths: ['overrides.policy_optimization.modules.0.name', 'overrides.policy_optimization.modules.0.template'],
    body: { config_body: seedJobBody(), overrides: { 'policy_optimization.modules': [{ name: 'BAD', template: 1 }] } },
  },
  {
    name: 'an override into an element of a list the config does not have', status: 422, paths: ['overrides.policy_optimization.modules.0.template'],
    body: { config_body: seedJobBody(), overrides: { 'policy_optimization.modules.0.template': 'A.' } },
  },
  {
    name: 'an override into a list element by index, out of range', status: 422, paths: ['overrides.policy_optimization.modules.2.template'],
    body: { config_body: mutated((p) => { Object.assign(p, { modules: [{ name: 'a', template: 'A.' }, { name: 'b', template: 'B.' }] }); delete (p as { initial_prompt?: unknown }).initial_prompt; }), overrides: { 'policy_optimization.modules.2.template': 'C.' } },
  },
  { name: 'malformed JSON', status: 400, paths: [''], rawBody: '{"policy_optimization": {' },
  { name: 'empty JSON body', status: 400, paths: [''], rawBody: '' },
  { name: 'not JSON at all', status: 415, paths: [], rawBody: 'algorithm=mipro', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  { name: 'oversized body', status: 413, paths: [''], rawBody: JSON.stringify({ policy_optimization: { pad: 'x'.repeat(70_000) } }) },
  { name: 'no key', status: 401, paths: [], body: seedJobBody(), key: 'none' },
  { name: 'wrong key', status: 401, paths: [], body: seedJobBody(), key: 'wrong' },
];

describe('bad input gets a clear 4xx naming the field, and writes nothing', () => {
  let t: TestServer;
  useTestServer({ env: { BODY_LIMIT_BYTES: '65536' } }, (s) => (t = s));

  it.each(cases)('$name -> $status', async (c) => {
    const before = (await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length;
    const key = c.key === 'none' ? null : c.key === 'wrong' ? 'mpx_not_a_real_key_000000000000' : t.key;
    const res = await api(t.url, 'POST', JOBS, { key, body: c.body, rawBody: c.rawBody, headers: c.headers });
    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.body.error.message).toEqual(expect.any(String));
    expect(res.body.error.request_id).toBe(res.headers.get('x-request-id'));
    const paths = (res.body.error.details as Array<{ path: string; message: string }>).map((d) => d.path);
    for (const p of c.paths) expect(paths).toContain(p);
    for (const d of res.body.error.details) expect(d.message.length).toBeGreaterThan(3);
    const after = (await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length;
    expect(after).toBe(before);
  });

  it('reads the top-level algorithm for a bare config_body that names none, and reports a bad one once, where it was sent', async () => {
    const { algorithm: _, ...bare } = simJobBody().policy_optimization;
    const ok = await api(t.url, 'POST', JOBS, { key: t.key, body: { algorithm: 'mipro', config_body: bare } });
    expect(ok.status).toBe(200);
    const bad = await api(t.url, 'POST', JOBS, { key: t.key, body: { algorithm: 'gepa', config_body: bare } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details).toEqual([{ path: 'algorithm', message: 'must be "mipro" (the only supported algorithm)' }]);
  });

  it('says why a value is wrong, not only where', async () => {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: mutated((p) => { p.policy.model = 5 as never; p.mipro.proposer.temperature = 99; }) });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual(expect.arrayContaining([
      { path: 'policy_optimization.policy.model', message: 'must be a string (a model name)' },
      { path: 'policy_optimization.mipro.proposer.temperature', message: 'must be between 0 and 2' },
    ]));
    const shared = await api(t.url, 'POST', JOBS, { key: t.key, body: mutated((p) => (p.mipro.val_seeds = [0, 1, 100] as never)) });
    expect(shared.body.error.details[0].message).toMatch(/must not share seeds with bootstrap_train_seeds or online_pool \(0, 1\)/);
  });

  it('reports a problem an override caused under the override alone, and a refused override leaves no trace', async () => {
    const create = (overrides: Record<string, unknown>) => api(t.url, 'POST', JOBS, { key: t.key, body: { config_body: simJobBody({ bootstrap_train_seeds: [0, 1], online_pool: [0, 1, 2], val_seeds: [100, 101] }), overrides } });
    const shared = await create({ 'policy_optimization.mipro.val_seeds.0': 1 }); // now shares seed 1 with the pool
    expect(shared.status).toBe(422);
    expect(shared.body.error.details).toEqual([{ path: 'overrides.policy_optimization.mipro.val_seeds.0', message: expect.stringMatching(/must not share seeds/) }]);
    const nothing = await create({ 'policy_optimization.initial_prompt.messages.0.pattern': 'x' }); // no initial_prompt in the body
    expect(nothing.status).toBe(422);
    expect(nothing.body.error.details).toEqual([{ path: 'overrides.policy_optimization.initial_prompt.messages.0.pattern', message: expect.stringMatching(/not in the config: set messages whole/) }]);
  });

  it('names an override through a field named like an Object member (toString) an unknown field, not a non-object', async () => {
    for (const key of ['policy.toString.x', 'policy_optimization.mipro.hasOwnProperty.y']) {
      const res = await api(t.url, 'POST', JOBS, { key: t.key, body: { config_body: simJobBody(), overrides: { [key]: 1 } } });
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([{ path: `overrides.${key}`, message: expect.stringMatching(/^unknown field/) }]);
    }
  });

  it('rejects a bad list query and an unknown job id', async () => {
    const q = await api(t.url, 'GET', `${JOBS}?limit=0&status=done`, { key: t.key });
    expect(q.status).toBe(422);
    expect(q.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['limit', 'status']);
    const cursor = await api(t.url, 'GET', `${JOBS}?cursor=nope`, { key: t.key });
    expect(cursor.status).toBe(422);
    expect(cursor.body.error.details[0].path).toBe('cursor');
    const missing = await api(t.url, 'GET', `${JOBS}/pl_00000000000000000000000000000000`, { key: t.key });
    expect(missing.status).toBe(404);
  });

  it('refuses a revoked key (within the one-second key cache)', async () => {
    const { key } = await t.newTenantKey();
    expect((await api(t.url, 'GET', JOBS, { key })).status).toBe(200);
    const k = (await t.server.store.listApiKeys()).at(-1)!;
    await t.server.store.revokeApiKey(k.id);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await api(t.url, 'GET', JOBS, { key });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/revoked/);
  });

  it('accepts X-API-Key as well as Bearer', async () => {
    const res = await api(t.url, 'GET', JOBS, { headers: { 'x-api-key': t.key } });
    expect(res.status).toBe(200);
  });
});
