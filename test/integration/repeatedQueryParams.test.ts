import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * Every GET route of the API, walked from the server's own route table: a query parameter the route
 * reads, given twice, is one 422 problem in the same words everywhere ("is given 2 times: send it
 * once", requestContext.ts parseQuery), never a schema's type message ("got array") or a 500; a route
 * that reads no query parameter answers as if the repeated one had not been sent. A GET route added
 * without an entry below fails the walk, so it has to say which of the two it is.
 */
const READS: Readonly<Record<string, string | null>> = {
  '/api/policy-optimization/online/jobs': 'status',
  '/api/policy-optimization/online/jobs/:jobId': null,
  '/api/policy-optimization/online/jobs/:jobId/export': 'format',
  '/api/prompt-learning/online/jobs': 'status',
  '/api/prompt-learning/online/jobs/:jobId': null,
  '/api/prompt-learning/online/jobs/:jobId/export': 'format',
  '/api/prompt-learning/online/mipro/systems/:id/state': null,
  '/api/v1/online/sessions/:id': null,
  '/api/v1/online/sessions/:id/export': 'candidate_id',
  '/api/v1/online/sessions/:id/events': 'since_seq',
  '/api/v1/online/sessions/:id/prompt': 'correlation_id',
  '/api/v1/online/sessions/:id/proposals': 'limit',
  '/api/v1/online/sessions/:id/rewards': 'cursor',
  '/api/v2/online/sessions/:id': null,
  '/api/v2/online/sessions/:id/export': 'format',
  '/api/v2/online/sessions/:id/events': 'event_type',
  '/api/v2/online/sessions/:id/prompt': 'correlation_id',
  '/api/v2/online/sessions/:id/proposals': 'cursor',
  '/api/v2/online/sessions/:id/rewards': 'limit',
  '/api/v1/systems/:id/candidates': 'sort',
  '/api/v1/systems/:id/seed-evals': 'split',
  '/api/v1/systems/:id/rollouts/:rolloutId': null,
  '/api/systems/:id/candidates': 'status',
  '/api/systems/:id/seed-evals': 'seed',
  '/api/systems/:id/rollouts/:rolloutId': null,
  '/api/candidates/:candidateId': 'system_id',
  // The proxy's models list (a client's SDK asks for it when it starts): it reads no query.
  '/api/mipro/v1/:systemId/models': null,
  '/api/mipro/v1/:systemId/v1/models': null,
  '/api/mipro/v1/:systemId/:rolloutId/models': null,
  '/api/mipro/v1/:systemId/:rolloutId/v1/models': null,
};

/** Values a parameter takes once without a problem (so only the repetition is refused). */
const VALUE: Readonly<Record<string, string>> = {
  status: 'running', format: 'json', candidate_id: 'baseline', since_seq: '0', correlation_id: 'c1', limit: '5',
  cursor: 'x', event_type: 'mipro.job.created', sort: 'created_at', split: 'val', seed: '1', system_id: '',
};

/** The full paths of a Fastify route tree as `printRoutes({commonPrefix: false})` draws it. */
function pathsOf(tree: string): string[] {
  const stack: string[] = [];
  const out: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?) \(/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    // Fastify draws a parameter two routes name differently as `:jobId|:id`: the first is the GET's.
    stack.push((m[2] ?? '').replace(/\|:[A-Za-z]+/g, ''));
    out.push(stack.join('').replace(/^\/+/, '/'));
  }
  return out;
}

describe('a query parameter given twice, on every GET route', () => {
  let t: TestServer;
  let job: { job_id: string; system_id: string };
  beforeAll(async () => {
    t = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test-repeat' } });
    job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody() })).body;
  });
  afterAll(() => t.close());

  const concrete = (route: string) => route
    .replace(':jobId', job.job_id).replace(':candidateId', 'baseline').replace(':rolloutId', 'r-none').replace(':id', job.system_id).replace(':systemId', job.system_id);

  it('walks every GET route of the API', async () => {
    const routes = pathsOf(t.server.app.printRoutes({ commonPrefix: false, method: 'GET' }))
      .filter((p) => p.startsWith('/api/'));
    expect(routes.filter((r) => !(r in READS)), 'GET routes without an entry in READS').toEqual([]);
    expect(Object.keys(READS).filter((r) => !routes.includes(r)), 'entries of READS that are no route').toEqual([]);
    for (const [route, param] of Object.entries(READS)) {
      const path = concrete(route);
      const name = param ?? 'unread';
      const value = param === 'system_id' ? job.system_id : VALUE[name] ?? 'x';
      const twice = await api(t.url, 'GET', `${path}?${name}=${encodeURIComponent(value)}&${name}=${encodeURIComponent(value)}`, { key: t.key });
      if (param === null) {
        const plain = await api(t.url, 'GET', path, { key: t.key });
        expect(twice.status, route).toBe(plain.status);
        expect(twice.status, route).toBeLessThan(500);
        continue;
      }
      expect(twice.status, `${route} ${JSON.stringify(twice.body)}`).toBe(422);
      expect(twice.body.error.details, route).toEqual([{ path: param, message: 'is given 2 times: send it once' }]);
    }
  });
});
