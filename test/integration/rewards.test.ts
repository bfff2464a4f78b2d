import { describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const SESSIONS = '/api/v1/online/sessions';
const LEGACY = '/api/prompt-learning/online/mipro/systems';
const BASELINE = 'Classify the customer banking query into an intent.';

describe('rewards', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  async function newSession(mipro: Record<string, unknown> = {}) {
    const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody(mipro, BASELINE) } });
    expect(res.status).toBe(200);
    return res.body as { session_id: string; job_id: string; proxy_url: string };
  }
  const proxyCall = (s: { proxy_url: string }, rollout: string, query = '') =>
    api(s.proxy_url, 'POST', `/${rollout}/chat/completions${query}`, { body: { messages: [{ role: 'user', content: 'I lost my card' }] } });
  const reward = (s: { session_id: string }, body: unknown, key = t.key) => api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key, body });

  it('counts a reward once per rollout id and updates the candidate statistics', async () => {
    const s = await newSession();
    await proxyCall(s, 'r1');
    const first = await reward(s, { rollout_id: 'r1', reward_info: { score: 1 } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'ok', rollout_id: 'r1', candidate_id: 'baseline', reward: 1, duplicate: false, split: 'online', job_status: 'running' });
    const again = await reward(s, { rollout_id: 'r1', reward_info: { score: 0 } });
    expect(again.body).toMatchObject({ duplicate: true, reward: 1 });
    const status = await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key });
    expect(status.body).toMatchObject({ reward_count: 1, rollout_count: 1, best_score: 1, best_score_source: 'online' });
    expect(status.body.candidates[0]).toMatchObject({ candidate_id: 'baseline', reward_count: 1, avg_reward: 1 });
    const events = await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/events?since_seq=0`, { key: t.key });
    expect(events.body.events.filter((e: { event_type: string }) => e.event_type === 'mipro.reward.received')).toHaveLength(1);
    const metrics = await fetch(`${t.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/miprox_rewards_total\{duplicate="false"\} [1-9]/);
    expect(metrics).toMatch(/miprox_rewards_total\{duplicate="true"\} [1-9]/);
  });

  it('resolves the candidate from candidate_id, the rollout record, or the correlation id', async () => {
    const s = await newSession();
    const byCandidate = await reward(s, { candidate_id: 'baseline', reward_info: { score: 0.5 } });
    expect(byCandidate.body).toMatchObject({ candidate_id: 'baseline', rollout_id: expect.stringMatching(/^rw_/) });
    await proxyCall(s, 'corr-rollout', '?cid=conv-9');
    const byCorrelation = await reward(s, { correlation_id: 'conv-9', reward_info: { score: 1 } });
    expect(byCorrelation.body).toMatchObject({ rollout_id: 'corr-rollout', candidate_id: 'baseline' });
    const reported = await reward(s, { rollout_id: 'client-made-id', candidate_id: 'baseline', reward_info: { score: 1 } });
    expect(reported.body).toMatchObject({ rollout_id: 'client-made-id', duplicate: false });
  });

  it('credits the candidate that served a known rollout, whatever candidate_id says (docs/API.md: a deviation from SPEC.md\'s order)', async () => {
    const s = await newSession();
    await proxyCall(s, 'served-by-baseline');
    const other = await api(t.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key: t.key, body: { module: 'main', instruction: 'Name the intent only.' } });
    expect(other.status).toBe(200);
    const res = await reward(s, { rollout_id: 'served-by-baseline', candidate_id: other.body.candidate_id, reward_info: { score: 1 } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rollout_id: 'served-by-baseline', candidate_id: 'baseline', duplicate: false });
    const view = await api(t.url, 'GET', `/api/candidates/${other.body.candidate_id}`, { key: t.key });
    expect(view.body).toMatchObject({ reward_count: 0, avg_reward: null });
  });

  it('infers a score from metadata or outcome_reward', async () => {
    const s = await newSession();
    for (const [i, body] of [
      { metadata: { expected: 'card_lost', predicted: ' Card_Lost ' } },
      { metadata: { expected: 'card_lost', predicted: 'card_stolen' } },
      { reward_info: { outcome_reward: 0.25 } },
    ].entries()) {
      await proxyCall(s, `m${i}`);
      const res = await reward(s, { rollout_id: `m${i}`, ...body });
      expect(res.status).toBe(200);
      expect(res.body.reward).toBe([1, 0, 0.25][i]);
    }
  });

  it('refuses unknown rollouts and bad scores with a clear 4xx, recording nothing', async () => {
    const s = await newSession();
    const unknown = await reward(s, { rollout_id: 'never-seen', reward_info: { score: 1 } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.details[0].path).toBe('rollout_id');
    await proxyCall(s, 'b1');
    const text = await reward(s, { rollout_id: 'b1', reward_info: { score: 'high' } });
    expect(text.status).toBe(422);
    expect(text.body.error.details[0]).toMatchObject({ path: 'reward_info.score' });
    const huge = await reward(s, { rollout_id: 'b1', reward_info: { outcome_reward: 1e12 } });
    expect(huge.status).toBe(422);
    expect(huge.body.error.details[0]).toMatchObject({ path: 'reward_info.outcome_reward', message: expect.stringContaining('between -1000000 and 1000000') });
    const none = await reward(s, { rollout_id: 'b1' });
    expect([none.status, none.body.error.message]).toEqual([422, 'a reward needs a score']);
    // Every problem of a body at once: a bad id does not hide a bad score, nor feedback beside reward_info.
    const many = await reward(s, { rollout_id: 5, reward_info: { score: 'a' }, stop: 'x', feedback: 'y' });
    expect([many.status, many.body.error.details]).toEqual([422, [
      { path: 'rollout_id', message: expect.any(String) },
      { path: 'stop', message: 'must be true or false' },
      { path: 'reward_info.score', message: 'must be a finite number, got "a"' },
      { path: 'feedback', message: 'goes inside reward_info (reward_info.feedback)' },
    ]]);
    const bulky = await reward(s, { rollout_id: 'b1', reward_info: { score: 1 }, metadata: { blob: 'x'.repeat(70_000) } });
    expect([bulky.status, bulky.body.error.details]).toEqual([422, [{ path: 'metadata', message: 'must be at most 65536 characters as JSON' }]]);
    const notObject = await reward(s, { rollout_id: 'b1', reward_info: 'x' });
    expect(notObject.body.error.details).toEqual([{ path: 'reward_info', message: 'must be an object, got string' }]);
    const badCandidate = await reward(s, { candidate_id: 'cand_nope', reward_info: { score: 1 } });
    expect(badCandidate.status).toBe(422);
    expect(badCandidate.body.error.details[0].path).toBe('candidate_id');
    const nothing = await reward(s, { reward_info: { score: 1 } });
    expect(nothing.status).toBe(422);
    const other = await t.newTenantKey();
    expect((await reward(s, { rollout_id: 'b1', reward_info: { score: 1 } }, other.key)).status).toBe(404);
    const status = await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key });
    expect(status.body.reward_count).toBe(0);
  });

  it('finishes the job on stop: true; the proxy keeps serving and later rewards are monitoring', async () => {
    const s = await newSession();
    await proxyCall(s, 's1');
    const res = await reward(s, { rollout_id: 's1', reward_info: { score: 1 }, stop: true });
    expect(res.body).toMatchObject({ status: 'ok', job_status: 'succeeded' });
    expect((await proxyCall(s, 's2')).status).toBe(200);
    const duplicate = await reward(s, { rollout_id: 's1', reward_info: { score: 1 } });
    expect(duplicate.body).toMatchObject({ duplicate: true });
    const late = await reward(s, { rollout_id: 's2', reward_info: { score: 0 } });
    expect(late.status).toBe(200);
    const evals = await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/rewards`, { key: t.key });
    expect(evals.body.items.map((r: { rollout_id: string; split: string }) => [r.rollout_id, r.split])).toEqual([['s1', 'online'], ['s2', 'monitor']]);
  });

  it('finishes the job when max_rollouts rewards have arrived', async () => {
    const s = await newSession({ max_rollouts: 3 });
    const answers = [];
    for (let i = 0; i < 3; i++) {
      await proxyCall(s, `b${i}`);
      answers.push((await reward(s, { rollout_id: `b${i}`, reward_info: { score: 1 } })).body);
    }
    // The reward that reaches the limit is answered with the ended job's status, not "running".
    expect(answers.map((a) => [a.split, a.job_status])).toEqual([['online', 'running'], ['online', 'running'], ['online', 'succeeded']]);
    const status = await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key });
    expect(status.body.status).toBe('succeeded');
  });

  it('serves the legacy status route (response carries candidate_id) and the state dict', async () => {
    const s = await newSession();
    await proxyCall(s, 'trace_rollout_0_abc123');
    const rewardStep = await api(t.url, 'POST', `${LEGACY}/${s.session_id}/status`, { key: t.key, body: { rollout_id: 'trace_rollout_0_abc123', status: 'reward', reward: 1 } });
    expect(rewardStep.status).toBe(200);
    expect(rewardStep.body).toMatchObject({ candidate_id: 'baseline', reward: 1 });
    const done = await api(t.url, 'POST', `${LEGACY}/${s.session_id}/status`, { key: t.key, body: { rollout_id: 'trace_rollout_0_abc123', status: 'done' } });
    expect(done.body).toMatchObject({ status: 'ok', candidate_id: 'baseline' });
    const missing = await api(t.url, 'POST', `${LEGACY}/${s.session_id}/status`, { key: t.key, body: { rollout_id: 'trace_rollout_0_abc123', status: 'reward' } });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details[0].path).toBe('reward');
    const state = await api(t.url, 'GET', `${LEGACY}/${s.session_id}/state`, { key: t.key });
    expect(state.body).toMatchObject({ system_id: s.session_id, status: 'running', rollout_count: 1, reward_count: 1, best_candidate_id: 'baseline' });
    expect(state.body.candidates.baseline).toMatchObject({ candidate_id: 'baseline', parent_id: null, rollout_count: 1, avg_reward: 1, rewards: [1] });
  });

  it('counts concurrent rollouts and rewards exactly', async () => {
    const s = await newSession({ online_proposer_min_rollouts: 1000 });
    const ids = Array.from({ length: 60 }, (_, i) => `c${i}`);
    await Promise.all(ids.map(async (id, i) => {
      await proxyCall(s, id);
      await Promise.all([reward(s, { rollout_id: id, reward_info: { score: i % 2 } }), reward(s, { rollout_id: id, reward_info: { score: i % 2 } })]);
    }));
    const status = await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key });
    expect(status.body.reward_count).toBe(60);
    expect(status.body.rollout_count).toBe(60);
    const totals = status.body.candidates.reduce((a: number, c: { reward_count: number }) => a + c.reward_count, 0);
    expect(totals).toBe(60);
  });
});
