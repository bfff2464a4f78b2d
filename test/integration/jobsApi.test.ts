import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

describe.each<TestDb>(['sqlite', 'postgres'])('jobs API on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    // The seed's request names provider "openai": creating it needs the key (never called here).
    t = await startTestServer({ db, env: { OPENAI_API_KEY: 'sk-test-never-called' } });
  });
  afterAll(async () => t.close());

  it('creates a job from the seed request and returns the proxy URL', async () => {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.body.job_id).toMatch(/^pl_[0-9a-f]{32}$/);
    expect(res.body.status).toBe('running');
    // system ids are credentials on proxy routes: at least 128 random bits.
    expect(res.body.system_id).toMatch(/^sys_[0-9a-f]{32}$/);
    expect(res.body.proxy_url).toBe(`${t.url.replace('127.0.0.1', '127.0.0.1')}/api/mipro/v1/${res.body.system_id}`);
    expect(res.body.chat_completions_url).toBe(`${res.body.proxy_url}/chat/completions`);
    expect(res.body.online_url).toBe(res.body.proxy_url);
    const got = await api(t.url, 'GET', `${JOBS}/${res.body.job_id}`, { key: t.key });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ job_id: res.body.job_id, status: 'running', rollout_count: 0, reward_count: 0, best_score: null });
    expect(got.body.metadata).toMatchObject({ mipro_system_id: res.body.system_id, mipro_proxy_url: res.body.proxy_url });
  });

  it('accepts the prompt_learning wrapper and the {algorithm, config_body} form, with overrides', async () => {
    const inner = seedJobBody().policy_optimization;
    const legacy = await api(t.url, 'POST', JOBS, { key: t.key, body: { prompt_learning: inner } });
    expect(legacy.status).toBe(200);
    const older = await api(t.url, 'POST', '/api/prompt-learning/online/jobs', {
      key: t.key,
      body: { algorithm: 'mipro', config_body: { prompt_learning: inner }, overrides: { 'prompt_learning.policy.model': 'gpt-4.1-mini' }, metadata: { team: 'x' }, auto_start: true },
    });
    expect(older.status).toBe(200);
    const got = await api(t.url, 'GET', `${JOBS}/${older.body.job_id}`, { key: t.key });
    expect(got.body.metadata.team).toBe('x');
    const cfg = await t.server.store.getJob(older.body.job_id);
    expect(cfg?.config.policy.model).toBe('gpt-4.1-mini');
  });

  it('uses the initial_prompt system pattern as the baseline candidate', async () => {
    const body = seedJobBody();
    (body.policy_optimization as Record<string, unknown>).initial_prompt = {
      messages: [{ role: 'user', pattern: 'Query: {query}', order: 1 }, { role: 'system', pattern: 'You classify banking intents.', order: 0 }],
      wildcards: { query: 'REQUIRED' },
    };
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.body.best_candidate_id).toBe('baseline');
    expect(res.body.candidates).toEqual([expect.objectContaining({ candidate_id: 'baseline', instruction: 'You classify banking intents.', status: 'active' })]);
  });

  it('lists jobs with a cursor and a status filter', async () => {
    const { key } = await t.newTenantKey();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await api(t.url, 'POST', JOBS, { key, body: seedJobBody() })).body.job_id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Array<{ job_id: string }>; next_cursor: string | null } } = await api(t.url, 'GET', `${JOBS}?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key });
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((j) => j.job_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
    await api(t.url, 'POST', `${JOBS}/${ids[1]}/pause`, { key });
    const paused = await api(t.url, 'GET', `${JOBS}?status=paused`, { key });
    expect(paused.body.items.map((j: { job_id: string }) => j.job_id)).toEqual([ids[1]]);
  });

  it('runs the state machine through POST and PATCH, and refuses illegal moves with 409', async () => {
    const id = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() })).body.job_id;
    // A PATCH body holds `state` only: a typo beside it is refused, and nothing moves.
    const extra = await api(t.url, 'PATCH', `${JOBS}/${id}`, { key: t.key, body: { state: 'paused', statee: 'running' } });
    expect([extra.status, extra.body.error.details]).toEqual([422, [{ path: 'statee', message: expect.stringMatching(/unknown field/) }]]);
    expect((await api(t.url, 'GET', `${JOBS}/${id}`, { key: t.key })).body.status).toBe('running');
    expect((await api(t.url, 'POST', `${JOBS}/${id}/pause`, { key: t.key })).body.status).toBe('paused');
    expect((await api(t.url, 'POST', `${JOBS}/${id}/pause`, { key: t.key })).body.status).toBe('paused');
    expect((await api(t.url, 'PATCH', `${JOBS}/${id}`, { key: t.key, body: { state: 'running' } })).body.status).toBe('running');
    expect((await api(t.url, 'PATCH', `${JOBS}/${id}`, { key: t.key, body: { state: 'cancelled' } })).body.status).toBe('cancelled');
    const illegal = await api(t.url, 'POST', `${JOBS}/${id}/resume`, { key: t.key });
    expect(illegal.status).toBe(409);
    expect(illegal.body.error.message).toMatch(/cancelled, which is final/);
    const bad = await api(t.url, 'PATCH', `${JOBS}/${id}`, { key: t.key, body: { state: 'exploding' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('state');
    const events = await t.server.store.listEvents(id, 0, 100);
    expect(events.filter((e) => e.eventType === 'mipro.job.status').map((e) => e.data.status)).toEqual(['running', 'paused', 'running', 'cancelled']);
  });

  it("refuses a PATCH state named after a member of Object.prototype with a 422 on state, on jobs and sessions", async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() })).body;
    // `toString`, `constructor` and `__proto__` once found Object.prototype's members in the
    // state table, and the transition then threw on them: a 500 instead of the field's 422.
    for (const state of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      for (const path of [`${JOBS}/${job.job_id}`, `/api/v1/online/sessions/${job.system_id}`]) {
        const res = await api(t.url, 'PATCH', path, { key: t.key, body: { state } });
        expect([state, path, res.status, res.body.error?.details]).toEqual([state, path, 422, [{ path: 'state', message: 'must be one of: running, paused, cancelled' }]]);
      }
    }
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body.status).toBe('running');
  });

  it("hides another tenant's job behind a 404", async () => {
    const id = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() })).body.job_id;
    const other = await t.newTenantKey();
    for (const [method, path] of [['GET', `${JOBS}/${id}`], ['POST', `${JOBS}/${id}/pause`], ['PATCH', `${JOBS}/${id}`]] as const) {
      const res = await api(t.url, method, path, { key: other.key, body: method === 'PATCH' ? { state: 'paused' } : undefined });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const list = await api(t.url, 'GET', JOBS, { key: other.key });
    expect(list.body.items).toEqual([]);
    expect((await api(t.url, 'GET', `${JOBS}/${id}`, { key: t.key })).body.status).toBe('running');
  });

  it('serves health, readiness and metrics', async () => {
    expect((await api(t.url, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await api(t.url, 'GET', '/readyz')).body).toEqual({ status: 'ready', database: db, database_state: 'up' });
    const metrics = await fetch(`${t.url}/metrics`).then((r) => r.text());
    expect(metrics).toContain('miprox_http_request_duration_seconds_bucket');
    expect(metrics).toContain(`route="${JOBS}"`);
  });

  it('tells the real previous state in its events when moves race (pause against cancel, promotes against each other)', async () => {
    for (let round = 0; round < 5; round++) {
      const id = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() })).body.job_id;
      await Promise.all([
        api(t.url, 'POST', `${JOBS}/${id}/pause`, { key: t.key }),
        api(t.url, 'POST', `${JOBS}/${id}/cancel`, { key: t.key }),
      ]);
      const statuses = (await t.server.store.listEvents(id, 0, 100)).filter((e) => e.eventType === 'mipro.job.status').map((e) => e.data);
      statuses.slice(1).forEach((e, i) => expect(e.previous).toBe(statuses[i]!.status));
    }
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const ids = ['baseline'];
    for (const text of ['Answer briefly.', 'Answer in detail.']) ids.push((await api(t.url, 'POST', `/api/systems/${job.system_id}/candidates`, { key: t.key, body: { instruction: text } })).body.candidate_id);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: ids[i % 3] } })));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
    const promoted = (await t.server.store.listEvents(job.job_id, 0, 100)).filter((e) => e.eventType === 'mipro.candidate.promoted').map((e) => e.data);
    expect(promoted).toHaveLength(6);
    // Each names what the one before it made the job serve.
    promoted.slice(1).forEach((e, i) => expect(e.previous_served).toBe(promoted[i]!.candidate_id));
  });
});
