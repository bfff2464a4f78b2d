import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCandidateId } from '../../src/shared/ids.js';
import { type TestServer, addCandidates, api, simJobBody, startTestServer } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';

describe('list routes: filters inside the page, cursors bound to their listing', () => {
  let t: TestServer;
  let s: { session_id: string; job_id: string };
  const scores = [1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0];

  beforeAll(async () => {
    t = await startTestServer();
    const created = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }, 'Classify.') } });
    expect(created.status).toBe(200);
    s = created.body;
    for (const score of scores) {
      const r = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: t.key, body: {} });
      const chat = await api(r.body.chat_completions_url, 'POST', '', { body: { messages: [{ role: 'user', content: `seed ${r.body.seed}` }] } });
      expect(chat.status).toBe(200);
      const reward = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: r.body.rollout_id, reward_info: { score } } });
      expect(reward.status).toBe(200);
    }
  });
  afterAll(async () => t.close());

  const get = (path: string) => api(t.url, 'GET', `/api/systems/${s.session_id}${path}`, { key: t.key });

  it('seed-evals?success=true fills each page with matches and ends with a null cursor', async () => {
    const pages: Array<Array<{ success: boolean }>> = [];
    let cursor: string | null = null;
    do {
      const res = await get(`/seed-evals?success=true&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      pages.push(res.body.items);
      cursor = res.body.next_cursor;
    } while (cursor && pages.length < 20);
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages.flat().every((r) => r.success)).toBe(true);
    const all = await get('/seed-evals?success=true&limit=3');
    expect(all.body).toMatchObject({ next_cursor: null });
    expect(all.body.items).toHaveLength(3);
  });

  it('answers 422 on the cursor when it is replayed with another sort or filter', async () => {
    await addCandidates(t.server.store, s.job_id, [newCandidateId(), newCandidateId()]);
    const first = await get('/candidates?sort=avg_reward:desc&limit=1');
    expect(first.status).toBe(200);
    const cursor = first.body.next_cursor as string;
    expect((await get(`/candidates?sort=avg_reward:desc&limit=1&cursor=${cursor}`)).status).toBe(200);
    for (const query of ['', '&sort=rollout_count:desc', '&sort=avg_reward:desc&status=active']) {
      const res = await get(`/candidates?limit=1&cursor=${cursor}${query}`);
      expect(res.status, query).toBe(422);
      expect(res.body.error.details[0]).toMatchObject({ path: 'cursor', message: expect.stringMatching(/another listing/) });
    }
    const evals = await get('/seed-evals?success=true&limit=1');
    const replayed = await get(`/seed-evals?success=false&limit=1&cursor=${evals.body.next_cursor}`);
    expect(replayed.status).toBe(422);
    expect(replayed.body.error.details[0].path).toBe('cursor');
    const forged = await get(`/candidates?limit=1&cursor=${Buffer.from('40').toString('base64url')}`);
    expect(forged.status).toBe(422);
    expect(forged.body.error.details[0]).toMatchObject({ path: 'cursor', message: expect.stringMatching(/not a cursor/) });
  });
});
