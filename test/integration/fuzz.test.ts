import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, seedJobBody, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * A bounded property-based fuzz of every JSON route (issue 14, "Also"): random and mutated bodies,
 * path ids and query strings, on both databases. The property: every answer is a 2xx or a 4xx,
 * never a 5xx; afterwards the server is alive and nothing is half-written (every acknowledged job
 * and reward is there, nothing refused is). Bounded: RUNS requests per route and database.
 */
const RUNS = 100;
/**
 * Fixed by default, so CI runs the same inputs every time and a failure can be replayed exactly;
 * MIPROX_FUZZ_SEED=random (or a number) explores other inputs; fast-check prints a failing seed.
 * Seed 902202629 once found a 500 on PostgreSQL's jobs list: a reward of 5e-324 whose square
 * underflowed (PostgreSQL raises where SQLite rounds to 0); test/integration/tinyRewards.test.ts.
 */
const SEED = process.env.MIPROX_FUZZ_SEED === 'random' ? Date.now() : Number(process.env.MIPROX_FUZZ_SEED ?? 20261202);
const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';

/** Values that broke things before: NUL, 32-bit edges, huge numbers, long and deep values. */
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(null, -1, 0, 1.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 1e308, -1e308, '', '\u0000', 'a\u0000b', 'x'.repeat(5000), [], {}, true, '€', '%00'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.integer({ min: -3, max: 2 ** 32 }), { maxLength: 200 }),
  fc.integer({ min: 60, max: 80 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = [v];
    return v;
  }),
);

/** Every path (object keys and array indexes) of a value, for mutations. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

/** A copy of `base` with the value at `path` replaced (or removed when `value` is undefined). */
function mutate(base: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** A valid body, mutated at one random path, or any JSON at all. */
function bodies(valid: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(valid);
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...paths), fc.option(nasty, { nil: undefined })).map(([p, v]) => mutate(valid, p, v)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  );
}

const idLike = fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), fc.constantFrom('baseline', 'v1', '..', '%', 'x'.repeat(300)));
const queryValue = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.integer({ min: -5, max: 2 ** 33 }).map(String), fc.constantFrom('', '0', '1', 'true', 'active', 'val', 'avg_reward:desc'));

describe.each(['sqlite', 'postgres'] as const)('fuzzing every JSON route on %s', (db) => {
  let t: TestServer;
  let session: { session_id: string; job_id: string; system_id: string; proxy_url: string };
  const statuses = new Map<number, number>();
  const createdJobs = new Set<string>();
  const acknowledged = new Set<string>();
  const refused = new Set<string>();

  beforeAll(async () => {
    t = await startTestServer({ db });
    const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify the query.') } });
    session = res.body;
    createdJobs.add(session.job_id);
  });
  afterAll(async () => {
    // The counts the issue asks for, once per database.
    console.info(`fuzz ${db}: ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}x${n}`).join(' ')}`);
    await t.close();
  });

  async function send(method: string, path: string, body?: unknown, key: string | null = t.key) {
    const res = await api(t.url, method, path, { key, ...(body === undefined ? {} : { rawBody: JSON.stringify(body) ?? 'null' }) });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    expect(res.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 300)} -> ${JSON.stringify(res.body).slice(0, 300)}`).toBeLessThan(500);
    return res;
  }
  const enc = (s: string) => encodeURIComponent(s);

  const routes: Array<[string, () => fc.IAsyncProperty<never>]> = [
    ['POST jobs', () => fc.asyncProperty(bodies(seedJobBody({ initialPrompt: 'Classify.' })), async (b) => {
      const r = await send('POST', JOBS, b);
      if (r.status === 200) createdJobs.add(r.body.job_id);
    }) as never],
    ['POST sessions', () => fc.asyncProperty(bodies({ config_body: simJobBody(), correlation_id: 'c1', metadata: { a: 1 }, overrides: { 'prompt_learning.policy.model': 'm' } }), async (b) => {
      const r = await send('POST', SESSIONS, b);
      if (r.status === 200) createdJobs.add(r.body.job_id);
    }) as never],
    ['POST proxy', () => fc.asyncProperty(idLike, bodies({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'lost card' }], temperature: 0, max_tokens: 5, stream: false }), async (id, b) => {
      await send('POST', `/api/mipro/v1/${session.system_id}/${enc(id)}/chat/completions`, b, null);
    }) as never],
    ['POST reward', () => fc.asyncProperty(fc.constantFrom('r1', 'r2', 'r3', 'r4'), bodies({ rollout_id: 'r1', candidate_id: 'baseline', reward_info: { score: 1 }, metadata: { expected: 'a', predicted: 'a' } }), async (id, b) => {
      await api(session.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'x' }] } });
      const r = await send('POST', `${SESSIONS}/${session.session_id}/reward`, b);
      const rid = (b as { rollout_id?: unknown } | null)?.rollout_id;
      if (typeof rid === 'string') (r.status === 200 ? acknowledged : refused).add(rid);
    }) as never],
    ['POST legacy status', () => fc.asyncProperty(bodies({ rollout_id: 'r2', status: 'reward', reward: 0.5 }), async (b) => {
      const r = await send('POST', `/api/prompt-learning/online/mipro/systems/${session.system_id}/status`, b);
      const rid = (b as { rollout_id?: unknown } | null)?.rollout_id;
      if (typeof rid === 'string' && (b as { status?: unknown }).status === 'reward') (r.status === 200 ? acknowledged : refused).add(rid);
    }) as never],
    ['POST rollouts', () => fc.asyncProperty(bodies({ split: 'val' }), async (b) => {
      await send('POST', `${SESSIONS}/${session.session_id}/rollouts`, b);
    }) as never],
    ['PATCH job', () => fc.asyncProperty(bodies({ state: 'paused' }), idLike, async (b, id) => {
      await send('PATCH', `${JOBS}/${enc(id)}`, b);
    }) as never],
    ['GET lists', () => fc.asyncProperty(fc.constantFrom(JOBS, `${SESSIONS}/${'SID'}/events`, `${SESSIONS}/SID/rewards`, '/api/systems/SID/candidates', '/api/systems/SID/seed-evals', '/api/candidates/baseline'),
      fc.dictionary(fc.constantFrom('limit', 'cursor', 'status', 'since_seq', 'sort', 'seed', 'split', 'success', 'candidate_id', 'system_id'), queryValue, { maxKeys: 3 }),
      async (path, query) => {
        const qs = Object.entries(query).map(([k, v]) => `${k}=${enc(v)}`).join('&');
        await send('GET', `${path.replace('SID', session.session_id)}?${qs}`);
      }) as never],
  ];

  it.each(routes)('%s: never a 5xx', async (_name, property) => {
    await fc.assert(property(), { numRuns: RUNS, seed: SEED });
  });

  it('is alive afterwards, with every acknowledged write and no refused one', async () => {
    expect((await api(t.url, 'GET', '/healthz')).status).toBe(200);
    expect((await api(t.url, 'GET', '/readyz')).status).toBe(200);
    const listed = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ job_id: string }>; next_cursor: string | null } } = await api(t.url, 'GET', `${JOBS}?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { key: t.key });
      for (const j of page.body.items) listed.add(j.job_id);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect([...listed].sort()).toEqual([...createdJobs].sort());
    const rewards = (await api(t.url, 'GET', `${SESSIONS}/${session.session_id}/rewards?limit=1000`, { key: t.key })).body.items as Array<{ rollout_id: string }>;
    const rewarded = new Set(rewards.map((r) => r.rollout_id));
    for (const id of acknowledged) expect(rewarded.has(id), id).toBe(true);
    for (const id of refused) if (!acknowledged.has(id)) expect(rewarded.has(id), id).toBe(false);
    const view = (await api(t.url, 'GET', `${SESSIONS}/${session.session_id}`, { key: t.key })).body;
    expect(view.reward_count).toBe(rewards.length);
  });
});
