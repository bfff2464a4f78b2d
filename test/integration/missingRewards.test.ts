import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/shared/clock.js';
import { type TestServer, addCandidates, api, seedJobBody, startTestServer } from '../helpers/server.js';
import { testDatabase } from '../helpers/testDatabase.js';

const MINUTE = 60_000;

/**
 * Informative missingness, end to end: a child that drops its reward on most rollouts looks better
 * than the control on the rewards that do arrive. Once its rollouts are past the in-flight expiry
 * (10 minutes) it is flagged, announced once, and cannot be champion; the counts come from the
 * database, so a restarted server sees the same. Time moves with the server's clock.
 */
describe.each(['sqlite', 'postgres'] as const)('missing rewards (%s)', (db) => {
  let now = Date.parse('2026-06-01T00:00:00.000Z');
  const clock: Clock = { now: () => now };
  const database = testDatabase(db, 'miss');
  const env = { OPENAI_API_KEY: 'sk-test', ...database.env };
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'sqlite', env, start: { clock } });
  });
  afterAll(async () => {
    await t.close();
    await database.drop();
  });

  it('flags a candidate that loses more rewards than the control and keeps it from being champion', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    await addCandidates(t.server.store, job.job_id, ['cand_lossy']);
    const dispatch = async (id: string, candidateId: string) => {
      expect(await t.server.store.insertRollout({ jobId: job.job_id, id, candidateId, seed: null, split: 'online', correlationId: null, inputMessages: null })).toBe(true);
    };
    for (let i = 0; i < 40; i++) {
      await dispatch(`b${i}`, 'baseline');
      await dispatch(`c${i}`, 'cand_lossy');
    }
    now += 2_000; // past the engine's 1 s cache, so it sees the new candidate
    const reward = (rolloutId: string, score: number) =>
      api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: rolloutId, reward_info: { score } } });
    for (let i = 0; i < 40; i++) expect((await reward(`b${i}`, i % 2)).status).toBe(200); // control: 0.5, every reward arrives
    for (let i = 0; i < 12; i++) expect((await reward(`c${i}`, 1)).status).toBe(200); // child: 1.0 on the 12 of 40 that arrive

    const key = t.key; // the job's tenant (a restarted test server adds a tenant of its own)
    const view = async (server: TestServer) => (await api(server.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key })).body;
    const before = await view(t);
    expect(before.best_candidate_id).toBe('cand_lossy'); // nothing is past the expiry yet
    expect(before.candidates.find((c: { candidate_id: string }) => c.candidate_id === 'cand_lossy').missing_reward_rate).toBeNull();

    now += 11 * MINUTE;
    await dispatch('b_late', 'baseline');
    expect((await reward('b_late', 1)).status).toBe(200); // a reward makes the engine look again
    const after = await view(t);
    expect(after.best_candidate_id).toBe('baseline');
    const lossy = after.candidates.find((c: { candidate_id: string }) => c.candidate_id === 'cand_lossy');
    expect(lossy.missing_reward_rate).toBeCloseTo(28 / 40, 12);
    expect(lossy.missing_rewards_flagged).toBe(true);
    expect(after.candidates.find((c: { candidate_id: string }) => c.candidate_id === 'baseline').missing_reward_rate).toBe(0);

    now += MINUTE; // past the engine's 30 s recount: it looks again, and announces nothing new
    await dispatch('b_later', 'baseline');
    expect((await reward('b_later', 0)).status).toBe(200);
    const events = (await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?since_seq=0&limit=1000`, { key: t.key })).body.events as { event_type: string; data: Record<string, unknown> }[];
    const flagged = events.filter((e) => e.event_type === 'mipro.candidate.missing_rewards');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]?.data).toMatchObject({ candidate_id: 'cand_lossy', missing: 28, due: 40 });
    const changes = events.filter((e) => e.event_type === 'mipro.best.changed').map((e) => e.data.candidate_id);
    expect(changes.at(-1)).toBe('baseline');

    // A restarted server (same database, no memory of this one) derives the same verdict.
    await t.close();
    t = await startTestServer({ db: 'sqlite', env, start: { clock } });
    const restarted = await view(t);
    expect(restarted.best_candidate_id).toBe('baseline');
    expect(restarted.candidates.find((c: { candidate_id: string }) => c.candidate_id === 'cand_lossy').missing_rewards_flagged).toBe(true);
  });
});
