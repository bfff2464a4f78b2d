import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { Clock } from '../../src/shared/clock.js';
import { ConfigError } from '../../src/shared/errors.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { addCandidates, api, seedJobBody, type TestServer } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const BUDGET = 100;

interface Session { session_id: string; proxy_url: string; job_id: string }

/**
 * Each cached job remembers up to 20,000 rollouts, and a busy job stays cached for its idle TTL:
 * 2,000 busy jobs were about 14 GB. JOB_CACHE_MAX_ROLLOUTS bounds the rollouts all cached jobs
 * remember together: past it the least recently used jobs are dropped, and read again from the
 * database when used (as after the idle TTL), answering as before. `miprox_cached_rollouts` on
 * /metrics shows the total. The server's clock stands still but for the steps the test takes, so
 * no job goes idle and the order of use is the test's.
 */
describe.each(['sqlite', 'postgres'] as const)('the job cache under JOB_CACHE_MAX_ROLLOUTS on %s', (db) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock: Clock = { now: () => now };
  let t: TestServer;

  useFakeUpstreamServer({ db, upstream: { reply: 'ok', record: false }, env: { JOB_CACHE_MAX_ROLLOUTS: String(BUDGET) }, start: { clock } }, (s) => ({ t } = s));

  const gauge = async (name: string): Promise<number> => {
    const text = (await api(t.url, 'GET', '/metrics')).body as string;
    const value = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1];
    if (value === undefined) throw new Error(`/metrics has no ${name}`);
    return Number(value);
  };
  const session = async (): Promise<Session> => {
    // No proposal (it would keep its job cached while it runs): three candidates from the start.
    const body = seedJobBody({ initialPrompt: 'Answer.', mipro: { online_proposer_min_rollouts: 1_000_000 } });
    const s: Session = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } })).body;
    await addCandidates(t.server.store, s.job_id, ['cand_a', 'cand_b']);
    return s;
  };
  /** One call of `rollout` (at the next millisecond): the candidate that served it. */
  const call = async (s: Session, rollout: string): Promise<string> => {
    now += 1;
    const res = await api(s.proxy_url, 'POST', `/${rollout}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect(res.status).toBe(200);
    return res.headers.get('x-mipro-candidate-id')!;
  };
  const reward = async (s: Session, rollout: string, score: number): Promise<{ candidate_id: string; duplicate: boolean }> => {
    now += 1;
    const res = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: rollout, reward_info: { score } } });
    expect(res.body).toMatchObject({ status: 'ok' });
    return res.body;
  };
  const scores = async (s: Session) =>
    ((await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body.candidates as { candidate_id: string; reward_count: number; avg_reward: number }[])
      .map((c) => ({ id: c.candidate_id, n: c.reward_count, mean: c.avg_reward }))
      .sort((x, y) => x.id.localeCompare(y.id));

  it('drops the least recently used job past the budget, and the job answers as before once read again', async () => {
    // Job a: 20 rewarded rollouts (one remembered rollout each once rewarded).
    const a = await session();
    const served = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      served.set(`a${i}`, await call(a, `a${i}`));
      await reward(a, `a${i}`, (i % 4) / 4);
    }
    expect(await gauge('miprox_cached_rollouts')).toBe(20);
    const scoresBefore = await scores(a);
    expect(scoresBefore.reduce((n, c) => n + c.n, 0)).toBe(20);

    // Jobs b and c, used after a, take the total past the budget.
    const b = await session();
    for (let i = 0; i < 40; i++) {
      await call(b, `b${i}`);
      await reward(b, `b${i}`, 1);
    }
    expect(await gauge('miprox_cached_rollouts')).toBe(60);
    const c = await session();
    for (let i = 0; i < 45; i++) {
      await call(c, `c${i}`);
      await reward(c, `c${i}`, 0);
    }
    // a went (b's 40 and c's 45 are left: had b gone instead, 20 + 45); b and c stayed.
    expect(await gauge('miprox_cached_jobs')).toBe(2);
    expect(await gauge('miprox_cached_rollouts')).toBe(85);

    // Read again from the database: every rollout keeps its candidate, rewards are duplicates, the scores are the same.
    for (let i = 0; i < 10; i++) expect(await call(a, `a${i}`)).toBe(served.get(`a${i}`));
    for (let i = 0; i < 20; i++) expect(await reward(a, `a${i}`, 1)).toEqual(expect.objectContaining({ candidate_id: served.get(`a${i}`), duplicate: true }));
    expect(await scores(a)).toEqual(scoresBefore);
    expect(await gauge('miprox_cached_jobs')).toBe(3);
    expect(await gauge('miprox_cached_rollouts')).toBe(95); // the 10 rollouts a's calls read again

    // And it goes on learning: a new rollout's reward counts once, for the candidate that served it.
    const fresh = await call(a, 'a-new');
    expect(await reward(a, 'a-new', 1)).toEqual(expect.objectContaining({ candidate_id: fresh, duplicate: false }));
    const after = await scores(a);
    for (const s of after) {
      const old = scoresBefore.find((x) => x.id === s.id)!;
      expect(s.n).toBe(old.n + (s.id === fresh ? 1 : 0));
    }
  });
});

describe('JOB_CACHE_MAX_ROLLOUTS', () => {
  it('is refused at start when bad, naming it', () => {
    expect(loadConfig({}).jobCacheMaxRollouts).toBe(1_000_000);
    expect(loadConfig({ JOB_CACHE_MAX_ROLLOUTS: '250000' }).jobCacheMaxRollouts).toBe(250_000);
    for (const bad of ['0', '99', '-5', '1e6', 'lots', '100000001']) {
      try {
        loadConfig({ JOB_CACHE_MAX_ROLLOUTS: bad });
        expect.unreachable(`JOB_CACHE_MAX_ROLLOUTS=${bad}`);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).message).toBe(`invalid configuration: JOB_CACHE_MAX_ROLLOUTS: must be an integer from 100 to 100000000 in decimal digits, got "${bad}"`);
      }
    }
  });
});
