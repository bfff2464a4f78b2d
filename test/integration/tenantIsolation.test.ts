import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomHex } from '../../src/shared/ids.js';
import { generateApiKey, hashApiKey } from '../../src/api/auth.js';
import { type TestDb, type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';
import { countStatements } from '../helpers/statementCount.js';

const SESSIONS = '/api/v1/online/sessions';
const SECRET = {
  name: 'alpha-secret-job-name',
  baseline: 'ALPHA-SECRET-BASELINE: classify the query.',
  handWritten: 'ALPHA-SECRET-HANDWRITTEN: classify carefully.',
  userText: 'ALPHA-SECRET-USER-TEXT',
};

/** Routes anyone may call (operations, the dashboard's files): each checked for leaks below, not for a key. */
const PUBLIC_ROUTES = new Set(['GET /', 'GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /app.js', 'GET /app.css', 'GET /index.html', 'GET /*']);
/** Routes that name no existing resource: a stranger's key may call them, and sees only its own tenant's items. */
const TENANT_ROUTES = new Set([
  'POST /api/policy-optimization/online/jobs', 'GET /api/policy-optimization/online/jobs',
  'POST /api/prompt-learning/online/jobs', 'GET /api/prompt-learning/online/jobs',
  'POST /api/v1/online/sessions', 'POST /api/v2/online/sessions',
]);

interface Route { method: string; path: string }

/** Every route the server registered, read from Fastify's own route tree (HEAD is GET's twin). */
function registeredRoutes(tree: string): Route[] {
  const routes: Route[] = [];
  const prefixes: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    // `/:jobId|:id`: two routes' names for one parameter at the same node.
    const path = (prefixes[depth - 1] ?? '') + m[2]!.replace(/:(\w+)\|:\w+/g, ':$1');
    prefixes[depth] = path.replace(/\/$/, '') === '' ? '/' : path;
    for (const method of (m[3] ?? '').split(', ').filter((x) => x && x !== 'HEAD')) routes.push({ method, path: prefixes[depth]! });
  }
  return routes.map((r) => ({ ...r, path: r.path.replace(/^\/\//, '/') }));
}

interface Ids { job: string; sys: string; rollout: string; cand: string }

/** A route's URL with a job's ids put in, and queries that name more of its resources. */
function urlOf(r: Route, ids: Ids): string {
  const jobPath = /^\/api\/(policy-optimization|prompt-learning)\/online\/jobs\//.test(r.path);
  let url = r.path
    .replace(/:(jobId|id)\b/, jobPath ? ids.job : ids.sys)
    .replace(':systemId', ids.sys)
    .replace(':rolloutId', ids.rollout)
    .replace(':candidateId', ids.cand);
  if (url.endsWith('/export') || url.endsWith('/seed-evals')) url += `?candidate_id=${ids.cand}`;
  if (url.startsWith('/api/candidates/')) url += `?system_id=${ids.sys}`;
  return url;
}

/** A body that would change the job were it accepted. */
function bodyOf(r: Route, ids: Ids): unknown {
  if (r.method === 'GET') return undefined;
  if (r.method === 'PATCH') return { state: 'cancelled' };
  const last = r.path.split('/').at(-1);
  switch (last) {
    case 'promote': return { candidate_id: ids.cand };
    case 'reward': return { rollout_id: ids.rollout, candidate_id: ids.cand, reward_info: { score: 1 } };
    case 'status': return { rollout_id: ids.rollout, candidate_id: ids.cand, status: 'reward', reward: 1 };
    case 'candidates': return { instruction: 'STRANGER WAS HERE' };
    case 'completions': return { messages: [{ role: 'user', content: 'stranger' }] };
    case 'responses': return { input: 'stranger' };
    case 'messages': return { max_tokens: 16, messages: [{ role: 'user', content: 'stranger' }] };
    case 'rollouts': return {};
    default: return r.path.endsWith('/jobs') || r.path.endsWith('/sessions') ? { config_body: simJobBody() } : undefined;
  }
}

/** The fewest of three counts: a read of the server's own background work (a job's refresh) only ever adds. */
async function fewestReads(count: () => Promise<number>): Promise<number> {
  const counts = [await count(), await count(), await count()];
  return Math.min(...counts);
}

const freshIds = (): Ids => ({ job: `pl_${randomHex(16)}`, sys: `sys_${randomHex(16)}`, rollout: `ro_${randomHex(12)}`, cand: `cand_${randomHex(8)}` });

/** The answer with ids replaced by their kind and the request id left out, so answers about two jobs compare. */
function shape(res: { status: number; body: unknown }, ids: Ids): string {
  let text = JSON.stringify(res.body);
  for (const [kind, id] of Object.entries(ids)) text = text.split(id).join(`<${kind}>`);
  return `${res.status} ${text.replace(/"request_id":"[^"]*"/, '')}`;
}

describe.each<TestDb>(['sqlite', 'postgres'])('tenant isolation on %s: every route, with another tenant\'s key, no key, a bad key, a revoked key', (db) => {
  let t: TestServer;
  let a: { key: string; tenantId: string };
  let b: { key: string; tenantId: string };
  let revoked: string;
  let ids: Ids;
  let bJob: { session_id: string; job_id: string };

  const asA = (method: string, path: string, body?: unknown) => api(t.url, method, path, { key: a.key, body });

  /** Everything tenant A can read about its job: what no stranger's request may change. */
  async function snapshotOfA(): Promise<unknown> {
    await t.server.settled();
    const base = `/api/v1/systems/${ids.sys}`;
    const [job, candidates, rewards, events, proposals, rollout] = await Promise.all([
      asA('GET', `${SESSIONS}/${ids.sys}`), asA('GET', `${base}/candidates?limit=1000`), asA('GET', `${SESSIONS}/${ids.sys}/rewards?limit=1000`),
      asA('GET', `${SESSIONS}/${ids.sys}/events?limit=1000`), asA('GET', `${SESSIONS}/${ids.sys}/proposals?limit=1000`), asA('GET', `${base}/rollouts/${ids.rollout}`),
    ]);
    for (const r of [job, candidates, rewards, events, proposals, rollout]) expect(r.status).toBe(200);
    return { job: job.body, candidates: candidates.body, rewards: rewards.body, events: events.body, proposals: proposals.body, rollout: rollout.body };
  }

  async function makeJob(key: string, name: string, baseline: string, userText: string, handWritten: string) {
    const s = (await api(t.url, 'POST', SESSIONS, { key, body: { name, config_body: simJobBody({ online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2 }, baseline) } })).body;
    let rollout = '';
    for (let i = 0; i < 6; i++) {
      const next = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key, body: {} });
      expect(next.status).toBe(200);
      const chat = await api(next.body.chat_completions_url, 'POST', '', { key, body: { messages: [{ role: 'user', content: `${userText} seed ${next.body.seed}` }] } });
      expect(chat.status).toBe(200);
      const reward = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key, body: { rollout_id: next.body.rollout_id, reward_info: { score: i % 2 } } });
      expect(reward.status).toBe(200);
      rollout = next.body.rollout_id;
    }
    const added = await api(t.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key, body: { instruction: handWritten } });
    expect(added.status).toBe(200);
    // The offline proposer runs after the first rewards: wait for a finished proposal with its child.
    await waitFor(async () => {
      const page = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key })).body;
      return page.items.some((p: { status: string }) => p.status !== 'running');
    });
    return { session_id: s.session_id as string, job_id: s.job_id as string, rollout, cand: added.body.candidate_id as string };
  }

  beforeAll(async () => {
    // The proxy asks for a key of the job's tenant too, so its routes are checked like the others here.
    // No periodic sweeps: their reads would land in the read counts below.
    t = await startTestServer({ db, env: { PROXY_REQUIRE_KEY: 'true' }, start: { proposalSweepIntervalMs: 3_600_000, retentionIntervalMs: 3_600_000 } });
    a = { key: t.key, tenantId: t.tenantId };
    b = await t.newTenantKey();
    const jobA = await makeJob(a.key, SECRET.name, SECRET.baseline, SECRET.userText, SECRET.handWritten);
    ids = { job: jobA.job_id, sys: jobA.session_id, rollout: jobA.rollout, cand: jobA.cand };
    const jobB = await makeJob(b.key, 'beta-job', 'Beta baseline.', 'beta user text', 'Beta hand-written.');
    bJob = { session_id: jobB.session_id, job_id: jobB.job_id };
    // What A's own reads show, and a stranger must never see.
    const mine = JSON.stringify(await snapshotOfA());
    for (const secret of Object.values(SECRET)) expect(mine).toContain(secret);
    // A second job of A, so A's job list has a next page (its cursor is replayed by B below).
    expect((await api(t.url, 'POST', SESSIONS, { key: a.key, body: { config_body: simJobBody() } })).status).toBe(200);
    // A key of tenant A, used (so the server remembers it), then revoked, past the one-second key cache.
    const { key, prefix } = generateApiKey();
    const stored = await t.server.store.createApiKey({ tenantId: a.tenantId, name: 'to-revoke', keyHash: hashApiKey(key), prefix });
    revoked = key;
    expect((await api(t.url, 'GET', `${SESSIONS}/${ids.sys}`, { key: revoked })).status).toBe(200);
    expect(await t.server.store.revokeApiKey(stored.id)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
  }, 120_000);
  afterAll(async () => t?.close());

  it('covers every registered route and finds the ones that name a tenant\'s resource', () => {
    const routes = registeredRoutes(t.server.app.printRoutes({ commonPrefix: false }));
    expect(routes.length).toBeGreaterThan(80);
    expect(routes).toContainEqual({ method: 'GET', path: '/api/systems/:id/rollouts/:rolloutId' });
    expect(routes).toContainEqual({ method: 'POST', path: '/api/mipro/v1/:systemId/:rolloutId/v1/messages' });
  });

  it('answers a stranger 404 on every route naming A\'s resources, exactly as for ids that exist nowhere, and changes nothing', async () => {
    const before = await snapshotOfA();
    const routes = registeredRoutes(t.server.app.printRoutes({ commonPrefix: false }))
      .filter((r) => !PUBLIC_ROUTES.has(`${r.method} ${r.path}`) && !TENANT_ROUTES.has(`${r.method} ${r.path}`));
    const problems: string[] = [];
    for (const r of routes) {
      // Each with the database reads it costs (B's key read just before: the key cache answers in both).
      const counted = async (x: Ids) => {
        await api(t.url, 'GET', '/api/policy-optimization/online/jobs?limit=1', { key: b.key });
        let res: Awaited<ReturnType<typeof api>> | undefined;
        const reads = await fewestReads(() => countStatements(t.server.store, async () => { res = await api(t.url, r.method, urlOf(r, x), { key: b.key, body: bodyOf(r, x) }); }));
        return { ...res!, reads };
      };
      const onA = await counted(ids);
      const unknown = freshIds();
      const onNothing = await counted(unknown);
      const label = `${r.method} ${r.path}`;
      if (onA.reads !== onNothing.reads) problems.push(`${label}: ${onA.reads} database reads for A's ids, ${onNothing.reads} for unknown ones`);
      if (onA.status !== 404) problems.push(`${label}: ${onA.status} ${JSON.stringify(onA.body).slice(0, 300)}`);
      if (shape(onA, ids) !== shape(onNothing, unknown)) problems.push(`${label}: answers A's ids as ${shape(onA, ids)} but unknown ids as ${shape(onNothing, unknown)}`);
      const text = JSON.stringify(onA.body);
      for (const secret of [...Object.values(SECRET), a.tenantId]) if (text.includes(secret)) problems.push(`${label}: body shows ${secret}`);
      onA.headers.forEach((_value, name) => {
        if (name.startsWith('x-mipro-')) problems.push(`${label}: answers with ${name}`);
      });
    }
    expect(problems).toEqual([]);
    expect(await snapshotOfA()).toEqual(before);
  }, 120_000);

  it('answers a stranger\'s bad request alike for A\'s ids and ids that exist nowhere (no oracle in the order of checks)', async () => {
    const before = await snapshotOfA();
    const routes = registeredRoutes(t.server.app.printRoutes({ commonPrefix: false }))
      .filter((r) => !PUBLIC_ROUTES.has(`${r.method} ${r.path}`) && !TENANT_ROUTES.has(`${r.method} ${r.path}`));
    // Each a mistake a route may check before or after it looks the job up.
    const mistakes = (r: Route, x: Ids): Array<{ query: string; body?: unknown }> => r.method === 'GET'
      ? [{ query: 'bogus=1' }, { query: 'limit=abc' }, { query: 'event_type=mipro.nope' }, { query: 'format=nope' }]
      : [
        { query: '', body: { bogus: 1 } },
        { query: '', body: { candidate_id: x.cand, bogus: 1 } },
        { query: '', body: { rollout_id: x.rollout, reward_info: { score: 7, feedback_by_module: { extract: 'x', nope: 'y' } } } },
        { query: '', body: { rollout_id: x.rollout, status: 'reward', reward: 7 } },
        { query: '', body: { module: 'nope', instruction: 'x' } },
        { query: '', body: { instructions: { nope: 'x' }, demos: { nope: [] } } },
        { query: 'seed=100', body: { messages: [] } },
      ];
    const problems: string[] = [];
    for (const r of routes) {
      const unknown = freshIds();
      const onAs = mistakes(r, ids);
      const onNothings = mistakes(r, unknown);
      for (let i = 0; i < onAs.length; i++) {
        const withQuery = (url: string, q: string) => (q ? `${url}${url.includes('?') ? '&' : '?'}${q}` : url);
        const onA = await api(t.url, r.method, withQuery(urlOf(r, ids), onAs[i]!.query), { key: b.key, body: onAs[i]!.body });
        const onNothing = await api(t.url, r.method, withQuery(urlOf(r, unknown), onNothings[i]!.query), { key: b.key, body: onNothings[i]!.body });
        if (shape(onA, ids) !== shape(onNothing, unknown)) problems.push(`${r.method} ${r.path} #${i}: ${shape(onA, ids)} vs ${shape(onNothing, unknown)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(await snapshotOfA()).toEqual(before);
  }, 120_000);

  it('loads nothing of A\'s job into the server\'s memory for a stranger (miprox_cached_jobs on the keyless /metrics would tell)', async () => {
    const cachedJobs = async () => Number(/^miprox_cached_jobs (\d+)$/m.exec(await fetch(`${t.url}/metrics`).then((r) => r.text()))![1]);
    // Jobs just made, which no call or reward has used: this instance does not hold them yet.
    const fresh = async () => (await asA('POST', SESSIONS, { config_body: simJobBody() })).body as { session_id: string; job_id: string };
    const attempts: Array<[string, (j: { session_id: string; job_id: string }) => Promise<{ status: number }>]> = [
      ['B\'s reward', (j) => api(t.url, 'POST', `${SESSIONS}/${j.session_id}/reward`, { key: b.key, body: { rollout_id: 'r1', reward_info: { score: 1 } } })],
      ['B\'s refused reward', (j) => api(t.url, 'POST', `${SESSIONS}/${j.session_id}/reward`, { key: b.key, body: { reward_info: { score: 'x' } } })],
      ['B\'s proxy call', (j) => api(t.url, 'POST', `/api/mipro/v1/${j.session_id}/chat/completions`, { key: b.key, body: { messages: [{ role: 'user', content: 'x' }] } })],
      ['B\'s model list', (j) => api(t.url, 'GET', `/api/mipro/v1/${j.session_id}/models`, { key: b.key })],
      ['a proxy call naming the job id', (j) => api(t.url, 'POST', `/api/mipro/v1/${j.job_id}/chat/completions`, { key: a.key, body: { messages: [{ role: 'user', content: 'x' }] } })],
    ];
    const problems: string[] = [];
    for (const [what, attempt] of attempts) {
      const job = await fresh();
      const before = await cachedJobs();
      const res = await attempt(job);
      expect([404, 422], what).toContain(res.status);
      const after = await cachedJobs();
      if (after > before) problems.push(`${what}: miprox_cached_jobs ${before} -> ${after}`);
    }
    expect(problems).toEqual([]);
  });

  it('costs a stranger\'s refused request the same database reads whether A\'s job is in memory, not, or unknown (no timing oracle)', async () => {
    const job = (await asA('POST', SESSIONS, { config_body: simJobBody() })).body as { session_id: string; job_id: string };
    const unknown = freshIds();
    const requests: Array<[string, (id: { sys: string; job: string }) => Promise<unknown>]> = [
      ['B\'s reward by job id', (x) => api(t.url, 'POST', `${SESSIONS}/${x.job}/reward`, { key: b.key, body: { rollout_id: 'r1', reward_info: { score: 1 } } })],
      ['B\'s reward by system id', (x) => api(t.url, 'POST', `${SESSIONS}/${x.sys}/reward`, { key: b.key, body: { rollout_id: 'r1', reward_info: { score: 1 } } })],
      ['B\'s refused reward', (x) => api(t.url, 'POST', `${SESSIONS}/${x.sys}/reward`, { key: b.key, body: { reward_info: { score: 'x' } } })],
      ['B\'s model list', (x) => api(t.url, 'GET', `/api/mipro/v1/${x.sys}/models`, { key: b.key })],
      ['B\'s proxy call', (x) => api(t.url, 'POST', `/api/mipro/v1/${x.sys}/chat/completions`, { key: b.key, body: { messages: [{ role: 'user', content: 'x' }] } })],
    ];
    // B's key read just before, so the key cache (one second) answers for it in every count.
    const reads = async (fn: () => Promise<unknown>) => {
      await api(t.url, 'GET', '/api/policy-optimization/online/jobs?limit=1', { key: b.key });
      return fewestReads(() => countStatements(t.server.store, fn));
    };
    const problems: string[] = [];
    for (const [what, request] of requests) {
      const cold = await reads(() => request({ sys: job.session_id, job: job.job_id }));
      const none = await reads(() => request(unknown));
      // A uses its job: this instance holds it now.
      expect((await asA('GET', `/api/mipro/v1/${job.session_id}/models`)).status).toBe(200);
      const hot = await reads(() => request({ sys: job.session_id, job: job.job_id }));
      if (cold !== none || hot !== none) problems.push(`${what}: ${cold} reads for A's job not in memory, ${hot} in memory, ${none} for an unknown id`);
    }
    expect(problems).toEqual([]);
  });

  it('answers 401 without a valid key on every route but the public ones, and changes nothing', async () => {
    const before = await snapshotOfA();
    const routes = registeredRoutes(t.server.app.printRoutes({ commonPrefix: false })).filter((r) => !PUBLIC_ROUTES.has(`${r.method} ${r.path}`));
    const credentials: Array<[string, Record<string, string>]> = [
      ['no key', {}],
      ['a malformed key', { authorization: 'Bearer not-a-key' }],
      ['an unknown key', { authorization: `Bearer mpx_${'0'.repeat(48)}` }],
      ['A\'s key one character short', { 'x-api-key': a.key.slice(0, -1) }],
      ['A\'s key under another scheme', { authorization: `Basic ${a.key}` }],
      ['A\'s revoked key', { authorization: `Bearer ${revoked}` }],
    ];
    const problems: string[] = [];
    for (const r of routes) {
      for (const [what, headers] of credentials) {
        const res = await api(t.url, r.method, urlOf(r, ids), { headers, body: bodyOf(r, ids) });
        const text = JSON.stringify(res.body);
        if (res.status !== 401) problems.push(`${r.method} ${r.path} with ${what}: ${res.status} ${text.slice(0, 200)}`);
        for (const secret of [...Object.values(SECRET), a.tenantId]) if (text.includes(secret)) problems.push(`${r.method} ${r.path} with ${what}: body shows ${secret}`);
      }
    }
    expect(problems).toEqual([]);
    expect(await snapshotOfA()).toEqual(before);
  }, 120_000);

  it('shows nothing of A on the public routes', async () => {
    for (const path of ['/', '/healthz', '/readyz', '/metrics', '/app.js', '/jobs/x']) {
      const text = await fetch(`${t.url}${path}`).then((r) => r.text());
      for (const secret of [...Object.values(SECRET), a.tenantId, ids.job, ids.sys, ids.rollout, ids.cand]) expect(text, path).not.toContain(secret);
    }
  });

  it('keeps A\'s items out of B\'s lists, whatever ids or cursors B sends', async () => {
    const before = await snapshotOfA();
    const asB = (method: string, path: string, body?: unknown) => api(t.url, method, path, { key: b.key, body });
    const jobs = await asB('GET', '/api/policy-optimization/online/jobs?limit=1000');
    expect(jobs.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([bJob.job_id]);
    // A's child candidate named by its id alone, on B's own system, and in B's filters.
    expect((await asB('GET', `/api/candidates/${ids.cand}`)).status).toBe(404);
    expect((await asB('GET', `/api/candidates/${ids.cand}?system_id=${bJob.session_id}`)).status).toBe(404);
    const exported = await asB('GET', `${SESSIONS}/${bJob.session_id}/export?candidate_id=${ids.cand}`);
    expect(exported.status).toBe(404);
    expect((await asB('GET', `/api/systems/${bJob.session_id}/seed-evals?candidate_id=${ids.cand}`)).body.items).toEqual([]);
    expect((await asB('GET', `/api/systems/${bJob.session_id}/rollouts/${ids.rollout}`)).status).toBe(404);
    const promote = await asB('POST', `${SESSIONS}/${bJob.session_id}/promote`, { candidate_id: ids.cand });
    expect(promote.status).toBe(422);
    // Cursors of A's lists, replayed on B's: refused or B's own items, never A's.
    const cursors: Array<[string, string]> = [];
    for (const path of [`/api/systems/${ids.sys}/candidates?limit=1`, `/api/systems/${ids.sys}/seed-evals?limit=1`, `${SESSIONS}/${ids.sys}/rewards?limit=1`, `${SESSIONS}/${ids.sys}/proposals?limit=1`]) {
      const page = await asA('GET', path);
      // A job has one proposal so far: its list has no second page.
      if (!path.includes('/proposals')) expect(page.body.next_cursor, path).toEqual(expect.any(String));
      if (page.body.next_cursor) cursors.push([path.replace(ids.sys, bJob.session_id), page.body.next_cursor]);
    }
    const aJobs = await asA('GET', '/api/policy-optimization/online/jobs?limit=1');
    cursors.push(['/api/policy-optimization/online/jobs?limit=1000', aJobs.body.next_cursor]);
    for (const [path, cursor] of cursors) {
      const res = await asB('GET', `${path}&cursor=${cursor}`);
      expect([200, 422], path).toContain(res.status);
      const text = JSON.stringify(res.body);
      for (const secret of [...Object.values(SECRET), ids.job, ids.sys, ids.rollout, ids.cand]) expect(text, path).not.toContain(secret);
    }
    expect(await snapshotOfA()).toEqual(before);
  });

  it('serves B\'s candidate and records into B\'s job when B\'s proxy URL gets A\'s rollout, candidate and correlation ids', async () => {
    const before = await snapshotOfA();
    const aRollout = (await asA('GET', `/api/v1/systems/${ids.sys}/rollouts/${ids.rollout}`)).body;
    const res = await fetch(`${t.url}/api/mipro/v1/${bJob.session_id}/${ids.rollout}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${b.key}`, 'x-mipro-candidate-id': ids.cand, 'x-mipro-correlation-id': aRollout.correlation_id ?? 'c' },
      body: JSON.stringify({ messages: [{ role: 'system', content: 'Beta baseline.' }, { role: 'user', content: 'beta again' }] }),
    });
    expect(res.status).toBe(200);
    const served = res.headers.get('x-mipro-candidate-id');
    const bCandidates = (await api(t.url, 'GET', `/api/systems/${bJob.session_id}/candidates?limit=1000`, { key: b.key })).body.items.map((c: { candidate_id: string }) => c.candidate_id);
    expect(bCandidates).toContain(served);
    expect(served).not.toBe(ids.cand);
    await t.server.settled();
    const view = await api(t.url, 'GET', `/api/systems/${bJob.session_id}/rollouts/${ids.rollout}`, { key: b.key });
    expect(view.status).toBe(200);
    expect(JSON.stringify(view.body)).not.toContain(SECRET.baseline);
    // A reward on B's session for that id is B's; A's rollout keeps its own reward.
    const reward = await api(t.url, 'POST', `${SESSIONS}/${bJob.session_id}/reward`, { key: b.key, body: { rollout_id: ids.rollout, reward_info: { score: 1 } } });
    expect(reward.status).toBe(200);
    expect(await snapshotOfA()).toEqual(before);
  });
});

describe('the proxy URL without PROXY_REQUIRE_KEY: its system id, whole and exact, is the credential', () => {
  let t: TestServer;
  afterAll(async () => t?.close());

  it('serves the system id as issued and nothing near it, with any key or none', async () => {
    t = await startTestServer();
    const other = await t.newTenantKey();
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, SECRET.baseline) } })).body as { session_id: string; job_id: string };
    const call = (systemId: string, key?: string) => api(t.url, 'POST', `/api/mipro/v1/${systemId}/chat/completions`, { key, body: { messages: [{ role: 'user', content: 'x' }] } });
    // As documented: whoever holds the proxy URL may call it, another tenant's key makes no difference.
    expect((await call(s.session_id)).status).toBe(200);
    expect((await call(s.session_id, other.key)).status).toBe(200);
    const near = [s.job_id, s.session_id.toUpperCase(), s.session_id.slice(0, -1), `${s.session_id}0`, s.session_id.replace('sys_', ''), `${s.session_id.slice(0, 12)}%25`];
    for (const id of near) {
      const res = await call(id);
      expect(res.status, id).toBe(404);
      expect(JSON.stringify(res.body), id).not.toContain(SECRET.baseline);
    }
    const models = await api(t.url, 'GET', `/api/mipro/v1/${s.job_id}/models`);
    expect(models.status).toBe(404);
  });
});
