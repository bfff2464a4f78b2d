import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * Every list route refuses a query parameter it does not know, as job bodies refuse unknown fields:
 * a 422 naming the parameter and the nearest known name (or the known names when none is near).
 * Before, the candidates, rewards, seed-evals, jobs, events and proposals lists dropped it unread, so
 * a misspelt `?stauts=retired` or `?sort_by=avg_reward` answered an unfiltered, unsorted list as if
 * it were the one asked for.
 */
const JOBS = '/api/policy-optimization/online/jobs';

interface Session { session_id: string }
interface ListRoute { route: (s: Session) => string; known: string[]; typo: [string, string] }

const routes: ListRoute[] = [
  { route: () => JOBS, known: ['cursor', 'limit', 'status'], typo: ['stauts', 'status'] },
  { route: () => '/api/prompt-learning/online/jobs', known: ['cursor', 'limit', 'status'], typo: ['limt', 'limit'] },
  { route: (s) => `/api/systems/${s.session_id}/candidates`, known: ['cursor', 'include', 'limit', 'sort', 'status'], typo: ['sotr', 'sort'] },
  { route: (s) => `/api/v1/systems/${s.session_id}/candidates`, known: ['cursor', 'include', 'limit', 'sort', 'status'], typo: ['stauts', 'status'] },
  { route: (s) => `/api/systems/${s.session_id}/seed-evals`, known: ['candidate_id', 'cursor', 'limit', 'seed', 'split', 'success'], typo: ['candidateid', 'candidate_id'] },
  { route: (s) => `/api/v1/systems/${s.session_id}/seed-evals`, known: ['candidate_id', 'cursor', 'limit', 'seed', 'split', 'success'], typo: ['sucess', 'success'] },
  { route: (s) => `/api/v1/online/sessions/${s.session_id}/rewards`, known: ['cursor', 'limit'], typo: ['cursr', 'cursor'] },
  { route: (s) => `/api/v2/online/sessions/${s.session_id}/rewards`, known: ['cursor', 'limit'], typo: ['limit_', 'limit'] },
  { route: (s) => `/api/v1/online/sessions/${s.session_id}/events`, known: ['event_type', 'limit', 'since_seq'], typo: ['sinc_seq', 'since_seq'] },
  { route: (s) => `/api/v2/online/sessions/${s.session_id}/events`, known: ['event_type', 'limit', 'since_seq'], typo: ['event_typ', 'event_type'] },
  { route: (s) => `/api/v1/online/sessions/${s.session_id}/proposals`, known: ['cursor', 'limit'], typo: ['limti', 'limit'] },
];

describe.each(['sqlite', 'postgres'] as const)('unknown query parameters on list routes (%s)', (db) => {
  let t: TestServer;
  let s: Session;
  beforeAll(async () => {
    t = await startTestServer({ db });
    s = (await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: simJobBody({}, 'Classify.') } })).body;
  });
  afterAll(async () => t.close());

  it.each(routes.map((r) => [r.route({ session_id: 'SID' }), r] as const))('%s', async (_path, r) => {
    const path = r.route(s);
    const [typo, meant] = r.typo;
    const near = await api(t.url, 'GET', `${path}?${typo}=1`, { key: t.key });
    expect(near.status, JSON.stringify(near.body)).toBe(422);
    expect(near.body.error).toMatchObject({ code: 'validation_error', request_id: expect.any(String) });
    expect(near.body.error.details).toEqual([{ path: typo, message: `unknown field; did you mean ${meant}?` }]);

    const far = await api(t.url, 'GET', `${path}?limit=5&zzzzzzzzzz=1`, { key: t.key });
    expect(far.status, JSON.stringify(far.body)).toBe(422);
    expect(far.body.error.details).toEqual([{ path: 'zzzzzzzzzz', message: `unknown field; known fields here: ${r.known.join(', ')}` }]);

    // Each known parameter is still read (the public SDK's `include=prompt_text` on candidates too).
    expect((await api(t.url, 'GET', `${path}?limit=5`, { key: t.key })).status).toBe(200);
  });

  it('refuses an unknown export parameter, so a typo never exports another program than the one asked for', async () => {
    const job = (await api(t.url, 'GET', `/api/v1/online/sessions/${s.session_id}`, { key: t.key })).body;
    for (const path of [`${JOBS}/${job.job_id}/export`, `/api/prompt-learning/online/jobs/${job.job_id}/export`, `/api/v1/online/sessions/${s.session_id}/export`, `/api/v2/online/sessions/${s.session_id}/export`]) {
      // `candidate` is the CLI flag's spelling: it exported the default program as a 200.
      const typo = await api(t.url, 'GET', `${path}?candidate=cand_nope`, { key: t.key });
      expect([path, typo.status, typo.body.error?.details]).toEqual([path, 422, [{ path: 'candidate', message: 'unknown field; did you mean candidate_id?' }]]);
      const format = await api(t.url, 'GET', `${path}?fromat=dspy`, { key: t.key });
      expect([path, format.status, format.body.error?.details]).toEqual([path, 422, [{ path: 'fromat', message: 'unknown field; did you mean format?' }]]);
      const known = await api(t.url, 'GET', `${path}?format=messages&candidate_id=baseline`, { key: t.key });
      expect([path, known.status, known.body.format, known.body.candidate_id]).toEqual([path, 200, 'messages', 'baseline']);
    }
  });

  it('keeps the public clients\' candidate-list parameters', async () => {
    const res = await api(t.url, 'GET', `/api/v1/systems/${s.session_id}/candidates?limit=10&status=active&sort=objective:desc,created_at:desc&include=prompt_text`, { key: t.key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.items.map((c: { candidate_id: string }) => c.candidate_id)).toContain('baseline');
  });
});
