import { describe, expect, it } from 'vitest';
import { type TestDb, type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const SESSIONS = '/api/v1/online/sessions';
const LEGACY = '/api/prompt-learning/online/mipro/systems';

/**
 * The older status route stores no feedback. It used to take a body carrying one (top level or in a
 * `reward_info`), record the reward and drop the text unseen; the rollout's first reward wins, so the
 * app could not resend it to the reward route. It is now a 422 naming the field, recording nothing.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('feedback sent to the legacy status route (%s)', (db) => {
  let t: TestServer;
  useTestServer({ db }, (s) => (t = s));

  it('is a 422 naming the field and the route that takes it, and nothing is recorded', async () => {
    const created = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({}, 'Classify the query.') } });
    expect(created.status).toBe(200);
    const sid = created.body.session_id as string;
    const call = await api(created.body.proxy_url, 'POST', '/r1/chat/completions', { body: { messages: [{ role: 'user', content: 'my card was stolen' }] } });
    expect(call.status).toBe(200);
    const status = (body: Record<string, unknown>) => api(t.url, 'POST', `${LEGACY}/${sid}/status`, { key: t.key, body: { rollout_id: 'r1', ...body } });

    for (const [body, path] of [
      [{ status: 'reward', reward: 0, feedback: 'the date was wrong' }, 'feedback'],
      [{ status: 'reward', reward: 0, feedback_by_module: { main: 'too terse' } }, 'feedback_by_module'],
      [{ status: 'reward', reward: 0, reward_info: { feedback: 'the date was wrong' } }, 'reward_info.feedback'],
      [{ status: 'done', feedback: 'the date was wrong' }, 'feedback'],
    ] as const) {
      const res = await status(body);
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error.details).toEqual([{ path, message: expect.stringMatching(/^is not stored by this route: send the reward with its feedback to POST \/api\/v1\/online\/sessions\/\{id\}\/reward, inside reward_info/) }]);
    }
    const rewards = await api(t.url, 'GET', `${SESSIONS}/${sid}/rewards`, { key: t.key });
    expect(rewards.body.items).toEqual([]);

    // The reward route then takes the reward with its feedback, as the first reward of the rollout.
    const reward = await api(t.url, 'POST', `${SESSIONS}/${sid}/reward`, { key: t.key, body: { rollout_id: 'r1', reward_info: { score: 0, feedback: 'the date was wrong' } } });
    expect([reward.status, reward.body.duplicate]).toEqual([200, false]);
    const after = await api(t.url, 'GET', `${SESSIONS}/${sid}/rewards`, { key: t.key });
    expect(after.body.items.map((r: { rollout_id: string; feedback?: string }) => [r.rollout_id, r.feedback])).toEqual([['r1', 'the date was wrong']]);
    // Without feedback the route works as before.
    const plain = await status({ status: 'reward', reward: 1, metadata: { note: 'x' } });
    expect([plain.status, plain.body.duplicate]).toEqual([200, true]);
  });
});
