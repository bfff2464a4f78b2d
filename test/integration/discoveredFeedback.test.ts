import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * A discovering job names its modules m1, m2, ..., which the app cannot know: feedback_by_module keyed
 * by the app's own stage names used to be a 422, and the reward's score was lost unless the client
 * resent it without the feedback. The reward is now recorded, the text kept in the overall feedback
 * (which the proposer reads), and the answer's `warnings` say what was done. A job that declares its
 * modules still refuses an unknown name (a typo) before anything is recorded.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('feedback_by_module in a discovering job (%s)', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, start: { cacheTtlMs: 20 }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));

  const reward = (systemId: string, rolloutId: string, info: Record<string, unknown>) =>
    api(t.url, 'POST', `/api/v1/online/sessions/${systemId}/reward`, { key: t.key, body: { rollout_id: rolloutId, reward_info: info } });
  const rewards = async (systemId: string) =>
    (await api(t.url, 'GET', `/api/v1/online/sessions/${systemId}/rewards`, { key: t.key })).body.items as
      { rollout_id: string; reward: number; feedback?: string; feedback_by_module?: Record<string, string> }[];

  it('records the reward, folds unknown names into feedback and says so; a discovered name stays per module', async () => {
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() }); // no modules: discovery
    expect(created.status).toBe(200);
    const { system_id: systemId, proxy_url: proxy } = created.body as { system_id: string; proxy_url: string };
    for (const rollout of ['r1', 'r2']) {
      const res = await api(`${proxy}/${rollout}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: 'Extract the date.' }, { role: 'user', content: 'q' }] } });
      expect([res.status, res.headers.get('x-mipro-module')]).toEqual([200, 'm1']);
    }
    expect(fake.requests).toHaveLength(2);

    const first = await reward(systemId, 'r1', { score: 0.25, feedback: 'wrong answer', feedback_by_module: { extract: 'missed the date', m1: 'too terse' } });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ status: 'ok', rollout_id: 'r1', reward: 0.25, duplicate: false });
    expect(first.body.warnings).toHaveLength(1);
    expect(first.body.warnings[0].path).toBe('reward_info.feedback_by_module.extract');
    expect(first.body.warnings[0].message).toMatch(/^is not a module of this job \(modules: m1\); .*added to reward_info\.feedback as "extract: \.\.\." and the reward recorded/);

    // Past the 4,000-character limit of a feedback text, the folded text is cut and the answer says so.
    const long = await reward(systemId, 'r2', { score: 1, feedback: 'ok', feedback_by_module: { extract: 'x'.repeat(4000) } });
    expect(long.status, JSON.stringify(long.body)).toBe(200);
    expect(long.body.warnings.map((w: { path: string }) => w.path)).toEqual(['reward_info.feedback_by_module.extract', 'reward_info.feedback']);

    const stored = await rewards(systemId);
    expect(stored.map((r) => [r.rollout_id, r.reward])).toEqual([['r1', 0.25], ['r2', 1]]);
    expect(stored[0]!.feedback).toBe('wrong answer\nextract: missed the date');
    expect(stored[0]!.feedback_by_module).toEqual({ m1: 'too terse' });
    expect(stored[1]!.feedback).toHaveLength(4000);
    expect(stored[1]!.feedback).toMatch(/^ok\nextract: x+…$/);
    expect(stored[1]!.feedback_by_module).toBeUndefined();

    // A resend is a duplicate: nothing of it is stored, so it has nothing to warn about.
    const again = await reward(systemId, 'r1', { score: 0.25, feedback_by_module: { extract: 'missed the date' } });
    expect([again.status, again.body.duplicate, again.body.warnings]).toEqual([200, true, undefined]);
  });

  it('still refuses an unknown name in a job that declares its modules, recording nothing', async () => {
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Extract the date.' }) });
    const { system_id: systemId, proxy_url: proxy } = created.body as { system_id: string; proxy_url: string };
    expect((await api(`${proxy}/d1`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: 'Extract the date.' }, { role: 'user', content: 'q' }] } })).status).toBe(200);
    const typo = await reward(systemId, 'd1', { score: 1, feedback_by_module: { extract: 'x' } });
    expect([typo.status, typo.body.error.details]).toEqual([422, [{ path: 'reward_info.feedback_by_module.extract', message: 'is not a module of this job (modules: main)' }]]);
    expect(await rewards(systemId)).toEqual([]);
  });
});
