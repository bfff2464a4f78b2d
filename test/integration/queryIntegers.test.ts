import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * Every integer query parameter of the read routes is decimal digits (src/schemas/integerText.ts):
 * an empty value is not 0, and `0x10`, `1e1`, ` 1`, `1.0`, `-1` are not numbers there. Each is a 422
 * naming the parameter and quoting what came, on SQLite and PostgreSQL. Before, zod's coercion read
 * `since_seq=` as 0 and `limit=0x10` as 16.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const MAX = 2147483647;

interface Session { session_id: string; system_id: string }
interface Param { route: (s: Session) => string; param: string; min: number; max: number }

const params: Param[] = [
  { route: () => JOBS, param: 'limit', min: 1, max: 1000 },
  { route: () => '/api/prompt-learning/online/jobs', param: 'limit', min: 1, max: 1000 },
  { route: (s) => `/api/systems/${s.system_id}/candidates`, param: 'limit', min: 1, max: 1000 },
  { route: (s) => `/api/v1/systems/${s.system_id}/candidates`, param: 'limit', min: 1, max: 1000 },
  { route: (s) => `/api/systems/${s.system_id}/seed-evals`, param: 'limit', min: 1, max: 1000 },
  { route: (s) => `/api/systems/${s.system_id}/seed-evals`, param: 'seed', min: 0, max: MAX },
  { route: (s) => `/api/v1/online/sessions/${s.session_id}/events`, param: 'since_seq', min: 0, max: MAX },
  { route: (s) => `/api/v2/online/sessions/${s.session_id}/events`, param: 'limit', min: 1, max: 1000 },
  { route: (s) => `/api/v1/online/sessions/${s.session_id}/proposals`, param: 'limit', min: 1, max: 1000 },
  { route: (s) => `/api/v1/online/sessions/${s.session_id}/rewards`, param: 'limit', min: 1, max: 1000 },
];

const BAD = ['', '0x10', '1e1', ' 1', '1.0', '-1', '+1'];

describe.each(['sqlite', 'postgres'] as const)('integer query parameters (%s)', (db) => {
  let t: TestServer;
  let s: Session;
  beforeAll(async () => {
    t = await startTestServer({ db });
    s = (await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: simJobBody({}, 'Classify.') } })).body;
  });
  afterAll(async () => t.close());

  it.each(params.map((p) => [p.route({ session_id: 'SID', system_id: 'SYS' }), p.param, p] as const))('%s ?%s=', async (_path, _name, p) => {
    for (const value of BAD) {
      const res = await api(t.url, 'GET', `${p.route(s)}?${p.param}=${encodeURIComponent(value)}`, { key: t.key });
      expect(res.status, `${p.param}=${JSON.stringify(value)}: ${JSON.stringify(res.body)}`).toBe(422);
      expect(res.body.error.details).toEqual([{ path: p.param, message: `must be an integer between ${p.min} and ${p.max} in decimal digits, got ${JSON.stringify(value)}` }]);
    }
    // Out of range, and given twice (no one value).
    expect((await api(t.url, 'GET', `${p.route(s)}?${p.param}=${p.max + 1}`, { key: t.key })).status).toBe(422);
    expect((await api(t.url, 'GET', `${p.route(s)}?${p.param}=1&${p.param}=2`, { key: t.key })).status).toBe(422);
    // Digits are read as written, a leading zero included.
    expect((await api(t.url, 'GET', `${p.route(s)}?${p.param}=${p.min}`, { key: t.key })).status).toBe(200);
    expect((await api(t.url, 'GET', `${p.route(s)}?${p.param}=01`, { key: t.key })).status).toBe(200);
  });

  it('reads since_seq and limit as the numbers written', async () => {
    const all = (await api(t.url, 'GET', `/api/v1/online/sessions/${s.session_id}/events`, { key: t.key })).body.events as { seq: number }[];
    expect(all.length).toBeGreaterThan(0);
    const after = await api(t.url, 'GET', `/api/v1/online/sessions/${s.session_id}/events?since_seq=${all[0]!.seq}&limit=1`, { key: t.key });
    expect(after.body.events.map((e: { seq: number }) => e.seq)).toEqual(all.slice(1, 2).map((e) => e.seq));
  });

  it('words the proxy\'s seed like the query filters', async () => {
    const res = await api(t.url, 'POST', `/api/mipro/v1/${s.system_id}/r1/chat/completions?seed=`, { body: { messages: [{ role: 'user', content: 'x' }] } });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ param: 'seed', message: expect.stringContaining(`must be an integer between 0 and ${MAX} in decimal digits, got ""`) });
  });
});
