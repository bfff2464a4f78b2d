import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, seedJobBody, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * Issue 14, item 6: inputs that PostgreSQL cannot store (a NUL in text, integers past 32 bits) were
 * accepted by SQLite and a 500 on PostgreSQL. Both databases now give the same answer to each.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const MAX = 2147483647;

interface Case { name: string; method: string; path: (s: Session) => string; body?: (s: Session) => unknown; key?: boolean; status: number; param?: string }
interface Session { session_id: string; system_id: string; job_id: string }

const user = { messages: [{ role: 'user', content: 'x' }] };
const seeds = (pool: unknown[]) => seedJobBody({ provider: 'sim', model: 'sim-policy', proposerProvider: 'sim', proposerModel: 'sim-proposer', mipro: { online_pool: pool, bootstrap_train_seeds: pool, val_seeds: [1] } });

const cases: Case[] = [
  { name: 'NUL in a prompt pattern', method: 'POST', path: () => JOBS, body: () => seedJobBody({ initialPrompt: 'a\u0000b' }), status: 422, param: 'policy_optimization.initial_prompt.messages.0.pattern' },
  { name: 'NUL in a session correlation id', method: 'POST', path: () => SESSIONS, body: () => ({ config_body: simJobBody(), correlation_id: 'c\u0000' }), status: 422, param: 'correlation_id' },
  { name: 'NUL in a job id', method: 'GET', path: () => `${JOBS}/pl_%00`, status: 422, param: 'job_id' },
  { name: 'NUL in a session id', method: 'GET', path: () => `${SESSIONS}/sys_%00`, status: 422 },
  { name: 'NUL in a candidate id', method: 'GET', path: () => '/api/candidates/c%00', status: 422 },
  { name: 'NUL in a system id (candidates)', method: 'GET', path: () => '/api/systems/sys%00/candidates', status: 422 },
  { name: 'NUL in a prompt correlation id', method: 'GET', path: (s) => `${SESSIONS}/${s.session_id}/prompt?correlation_id=%00`, status: 422, param: 'correlation_id' },
  { name: 'NUL in a reward correlation id', method: 'POST', path: (s) => `${SESSIONS}/${s.session_id}/reward`, body: () => ({ correlation_id: 'c\u0000', reward_info: { score: 1 } }), status: 422, param: 'correlation_id' },
  { name: 'NUL in a reward candidate id', method: 'POST', path: (s) => `${SESSIONS}/${s.session_id}/reward`, body: () => ({ candidate_id: 'c\u0000', reward_info: { score: 1 } }), status: 422, param: 'candidate_id' },
  { name: 'NUL in a promoted candidate id', method: 'POST', path: (s) => `${JOBS}/${s.job_id}/promote`, body: () => ({ candidate_id: 'c\u0000' }), status: 422, param: 'candidate_id' },
  { name: 'NUL in a promoted candidate id (sessions path)', method: 'POST', path: (s) => `${SESSIONS}/${s.session_id}/promote`, body: () => ({ candidate_id: '\u0000' }), status: 422, param: 'candidate_id' },
  { name: 'NUL in a proxied system message', method: 'POST', key: false, path: (s) => `/api/mipro/v1/${s.system_id}/n1/chat/completions`, body: () => ({ messages: [{ role: 'system', content: 'a\u0000b' }, { role: 'user', content: 'x' }] }), status: 422, param: 'messages.0.content' },
  { name: 'NUL in a proxied user message (stored as JSON: fine)', method: 'POST', key: false, path: (s) => `/api/mipro/v1/${s.system_id}/n2/chat/completions`, body: () => ({ messages: [{ role: 'user', content: 'x\u0000y' }] }), status: 200 },
  { name: 'NUL in a proxy correlation id', method: 'POST', key: false, path: (s) => `/api/mipro/v1/${s.system_id}/n3/chat/completions?cid=%00`, body: () => user, status: 422, param: 'cid' },
  { name: 'NUL in a proxy system id', method: 'POST', key: false, path: () => '/api/mipro/v1/sys%00/chat/completions', body: () => user, status: 422, param: 'system_id' },
  { name: 'a proxy seed past 32 bits', method: 'POST', key: false, path: (s) => `/api/mipro/v1/${s.system_id}/n4/chat/completions?seed=3000000000`, body: () => user, status: 422, param: 'seed' },
  { name: 'the largest proxy seed', method: 'POST', key: false, path: (s) => `/api/mipro/v1/${s.system_id}/n5/chat/completions?seed=${MAX}`, body: () => user, status: 200 },
  { name: 'an event sequence past 32 bits', method: 'GET', path: (s) => `${SESSIONS}/${s.session_id}/events?since_seq=99999999999`, status: 422, param: 'since_seq' },
  { name: 'a seed filter past 32 bits', method: 'GET', path: (s) => `/api/systems/${s.system_id}/seed-evals?seed=3000000000`, status: 422, param: 'seed' },
  { name: 'an empty seed filter (not seed 0)', method: 'GET', path: (s) => `/api/systems/${s.system_id}/seed-evals?seed=`, status: 422, param: 'seed' },
  { name: 'a seed filter in hexadecimal', method: 'GET', path: (s) => `/api/systems/${s.system_id}/seed-evals?seed=0x1`, status: 422, param: 'seed' },
  { name: 'job seeds past 32 bits', method: 'POST', path: () => JOBS, body: () => seeds([MAX + 1]), status: 422, param: 'policy_optimization.mipro.bootstrap_train_seeds.0' },
  { name: 'the largest job seed', method: 'POST', path: () => JOBS, body: () => seeds([MAX]), status: 200 },
];

describe.each(['sqlite', 'postgres'] as const)('the same answer on %s', (db) => {
  let t: TestServer;
  let s: Session;
  beforeAll(async () => {
    t = await startTestServer({ db });
    s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify.') } })).body;
  });
  afterAll(async () => t.close());

  it.each(cases)('$name -> $status', async (c) => {
    const res = await api(t.url, c.method, c.path(s), { key: c.key === false ? null : t.key, body: c.body?.(s) });
    expect(res.status, JSON.stringify(res.body)).toBe(c.status);
    if (c.param === undefined) return;
    const param = res.body.error.details?.[0]?.path ?? res.body.error.param;
    expect(param).toBe(c.param);
  });

  it('schedules rollouts of a job whose seeds reach the 32-bit limit', async () => {
    const job = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: seeds([MAX - 1, MAX]) } })).body;
    for (let i = 0; i < 3; i++) {
      const next = await api(t.url, 'POST', `${SESSIONS}/${job.session_id}/rollouts`, { key: t.key, body: {} });
      expect(next.status).toBe(200);
      expect([MAX - 1, MAX]).toContain(next.body.seed);
    }
  });
});
