import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, addCandidates, api, simJobBody, startTestServer } from '../helpers/server.js';

/**
 * A score sort without a direction (`sort=avg_reward`, what `miprox candidates --sort avg_reward`
 * sends) lists the best first; `created_at` without one stays oldest first. A cursor from
 * `sort=avg_reward` is the cursor of `sort=avg_reward:desc`: the same listing. Before, a bare score
 * sort listed the worst candidate first.
 */
const SESSIONS = '/api/v1/online/sessions';

describe.each(['sqlite', 'postgres'] as const)('candidate sorts without a direction (%s)', (db) => {
  let t: TestServer;
  let sid: string;
  const ids = (body: { items: Array<{ candidate_id: string }> }) => body.items.map((c) => c.candidate_id);
  const list = (query: string) => api(t.url, 'GET', `/api/systems/${sid}/candidates?${query}`, { key: t.key });

  beforeAll(async () => {
    t = await startTestServer({ db });
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify.') } })).body;
    sid = s.session_id;
    await addCandidates(t.server.store, s.job_id, ['cand_good', 'cand_bad']);
    // avg_reward: good 1 > baseline 0.5 > bad 0; reward_count: bad 3 > baseline 2 > good 1.
    const scores: Array<[string, number]> = [['cand_good', 1], ['baseline', 1], ['baseline', 0], ['cand_bad', 0], ['cand_bad', 0], ['cand_bad', 0]];
    for (const [candidate_id, score] of scores) {
      const r = await api(t.url, 'POST', `${SESSIONS}/${sid}/reward`, { key: t.key, body: { candidate_id, reward_info: { score } } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    }
  });
  afterAll(async () => t.close());

  it('lists a score sort best first when no direction is given, as :desc does', async () => {
    const bare = await list('sort=avg_reward');
    expect(bare.status, JSON.stringify(bare.body)).toBe(200);
    expect(ids(bare.body)).toEqual(['cand_good', 'baseline', 'cand_bad']);
    expect(ids((await list('sort=avg_reward:desc')).body)).toEqual(['cand_good', 'baseline', 'cand_bad']);
    expect(ids((await list('sort=avg_reward:asc')).body)).toEqual(['cand_bad', 'baseline', 'cand_good']);
    expect(ids((await list('sort=reward_count')).body)).toEqual(['cand_bad', 'baseline', 'cand_good']);
    // The public clients' alias of avg_reward is a score too.
    expect(ids((await list('sort=objective,created_at')).body)).toEqual(['cand_good', 'baseline', 'cand_bad']);
  });

  it('keeps created_at oldest first without a direction', async () => {
    expect(ids((await list('sort=created_at')).body)).toEqual(['baseline', 'cand_good', 'cand_bad']);
    expect(ids((await list('')).body)).toEqual(['baseline', 'cand_good', 'cand_bad']);
  });

  it('takes a cursor of sort=avg_reward with sort=avg_reward:desc and back (one listing), not with :asc', async () => {
    const first = await list('sort=avg_reward&limit=1');
    expect(ids(first.body)).toEqual(['cand_good']);
    const cursor = first.body.next_cursor as string;
    const desc = await list(`sort=avg_reward:desc&limit=1&cursor=${cursor}`);
    expect(desc.status, JSON.stringify(desc.body)).toBe(200);
    expect(ids(desc.body)).toEqual(['baseline']);
    const back = await list(`sort=avg_reward&limit=1&cursor=${desc.body.next_cursor}`);
    expect(ids(back.body)).toEqual(['cand_bad']);
    expect(back.body.next_cursor).toBeNull();
    const asc = await list(`sort=avg_reward:asc&limit=1&cursor=${cursor}`);
    expect(asc.status).toBe(422);
    expect(asc.body.error.details[0]).toMatchObject({ path: 'cursor', message: expect.stringMatching(/another listing/) });
  });
});
