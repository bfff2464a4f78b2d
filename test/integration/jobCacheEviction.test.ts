import { describe, expect, it } from 'vitest';
import { IN_FLIGHT_TTL_MS } from '../../src/optimizer/runner/missingRewards.js';
import type { Clock } from '../../src/shared/clock.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { api, seedJobBody, type TestServer } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const JOBS = 25;

/**
 * A long-running server caches each job it serves (candidates, stints, up to 20,000 remembered
 * rollouts). Ended and forgotten jobs stayed cached until 2,000 newer jobs pushed them out, so memory
 * grew with every job for weeks. Now a job nobody used for the in-flight TTL is dropped, and
 * `miprox_cached_jobs` on /metrics shows what is held. Time moves with the server's clock.
 */
describe('the job cache of a long-running server', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock: Clock = { now: () => now };
  let t: TestServer;

  useFakeUpstreamServer({ upstream: { reply: 'ok', record: false }, start: { clock } }, (s) => ({ t } = s));

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

  it('drops jobs nobody used for the in-flight TTL, ended or not, and serves them again from the database', async () => {
    const before = await cachedJobs();
    const sessions = [];
    for (let i = 0; i < JOBS; i++) {
      const s = await session();
      await callAndReward(s, `r${i}`);
      // Ended jobs keep serving, so they were cached as long as running ones.
      if (i % 2 === 0) expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/cancel`, { key: t.key })).status).toBe(200);
      sessions.push(s);
    }
    expect(await cachedJobs()).toBe(before + JOBS);

    now += IN_FLIGHT_TTL_MS + 1;
    const fresh = await session();
    await callAndReward(fresh, 'fresh-1');
    expect(await cachedJobs()).toBe(1);

    // A dropped job is read again when used: its rollouts, rewards and candidate are all still there.
    const old = sessions[1]!;
    const again = await api(old.proxy_url, 'POST', '/r1/chat/completions', { body: { messages: [{ role: 'user', content: 'again' }] } });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-mipro-candidate-id')).toBe('baseline');
    const duplicate = await api(t.url, 'POST', `${SESSIONS}/${old.session_id}/reward`, { key: t.key, body: { rollout_id: 'r1', reward_info: { score: 0 } } });
    expect(duplicate.body).toMatchObject({ status: 'ok', duplicate: true });
    const view = (await api(t.url, 'GET', `${SESSIONS}/${old.session_id}`, { key: t.key })).body;
    expect(view).toMatchObject({ status: 'running', rollout_count: 1, reward_count: 1 });
    expect(await cachedJobs()).toBe(2);
  });
});
