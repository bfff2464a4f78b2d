import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, addModuleCandidates, api, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * A plain module's demo stored with `variables: {}` (written by hand, or by a release that kept the
 * empty object) is the demo an import sends without `variables`: the same program is refused as a
 * duplicate of the candidate that holds it. Before, the two were keyed apart (core/demos.ts
 * `demoKey`), and the copy took a candidate slot to measure the same program again.
 */
describe.each(['sqlite', 'postgres'] as const)('demo identity: empty variables are no variables (%s)', (db) => {
  let t: TestServer;
  let s: { session_id: string; job_id: string };
  const input = [{ role: 'user' as const, content: 'Is this spam?' }];

  beforeAll(async () => {
    t = await startTestServer({ db });
    s = (await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify.') } })).body;
    await addModuleCandidates(t.server.store, s.job_id, 'main', { cand_empty: 'Classify.' }, { cand_empty: [{ input, output: 'no', rolloutId: 'r_src', variables: {} }] });
  });
  afterAll(async () => t.close());

  it('refuses an import of the same demos without variables as that candidate\'s program', async () => {
    const res = await api(t.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key: t.key, body: { demos: { main: [{ input, output: 'no' }] } } });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'demos', message: 'is the program of candidate cand_empty' }]);
    // Another answer is another demo, and so another program.
    const other = await api(t.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key: t.key, body: { demos: { main: [{ input, output: 'yes' }] } } });
    expect(other.status, JSON.stringify(other.body)).toBe(200);
  });
});
