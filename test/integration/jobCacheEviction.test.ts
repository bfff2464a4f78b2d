import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/shared/clock.js';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { api, seedJobBody, startTestServer, type TestServer } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';

/**
 * A long-running server caches each job it serves (candidates, stints, remembered rollouts); what it
 * holds is `miprox_cached_jobs` on /metrics, so an operator sees whether it stays flat.
 */
describe('the job cache of a long-running server', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const clock: Clock = { now: () => now };
  let fake: FakeUpstream;
  let t: TestServer;

  beforeAll(async () => {
    fake = await startFakeUpstream({ reply: 'ok', record: false });
    t = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url }, start: { clock } });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const cachedJobs = async (): Promise<number> => {
    const text = (await api(t.url, 'GET', '/metrics')).body as string;
    const value = /^miprox_cached_jobs (\d+)$/m.exec(text)?.[1];
    if (value === undefined) throw new Error('/metrics has no miprox_cached_jobs');
    return Number(value);
  };
  const session = async (): Promise<{ session_id: string; proxy_url: string; job_id: string }> =>
    (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: seedJobBody({ initialPrompt: 'Answer.' }) } })).body;
  const callAndReward = async (s: { session_id: string; proxy_url: string }, rollout: string): Promise<void> => {
    const call = await api(s.proxy_url, 'POST', `/${rollout}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect(call.status).toBe(200);
    const reward = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: rollout, reward_info: { score: 1 } } });
    expect(reward.body).toMatchObject({ status: 'ok', duplicate: false });
  };

  it('reports on /metrics how many jobs the instance holds in memory', async () => {
    const before = await cachedJobs();
    for (let i = 0; i < 3; i++) await callAndReward(await session(), `g${i}`);
    expect(await cachedJobs()).toBe(before + 3);
  });

});
