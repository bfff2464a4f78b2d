import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/shared/clock.js';
import { type TestServer, addCandidates, api, seedJobBody, startTestServer } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const MINUTE = 60_000;

/**
 * mipro.stop_when_identified meets the missing-rewards flag: a child that drops most of its rewards
 * looks best on those that arrive. Once flagged it "cannot be champion (nor confirmed on val) while
 * the gap lasts" (docs/API.md), so the stop rule must not end the job on its behalf either.
 */
describe('the stop rule and a candidate flagged for missing rewards', () => {
  let now = Date.parse('2026-06-01T00:00:00.000Z');
  const clock: Clock = { now: () => now };
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test' }, start: { clock } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('does not stop naming a flagged candidate while serving another', async () => {
    const body = seedJobBody({
      initialPrompt: 'Answer.',
      mipro: {
        bootstrap_train_seeds: [0, 1, 2, 3], online_pool: { start: 0, end: 1000 }, val_seeds: [2000, 2001, 2002, 2003],
        online_rollouts_per_candidate: 5, online_proposer_max_candidates: 2, online_proposer_min_rollouts: 100_000,
        stop_when_identified: { epsilon: 0.01, delta: 0.05 },
      },
    });
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } })).body as { session_id: string; job_id: string };
    await addCandidates(t.server.store, s.job_id, ['cand_lossy']);
    now += 2_000; // past the engine's cache: it sees the child
    const reward = async (rolloutId: string, score: number) => {
      const r = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: rolloutId, reward_info: { score } } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body as { job_status: string };
    };
    // The child earns 1 on every reward that arrives, but after its first R only one reward in three
    // arrives; the control earns 0.5 on average, every reward arriving. The child's val rewards are held.
    const heldVal: string[] = [];
    let lossy = 0;
    for (let i = 0; i < 320; i++) {
      const next = (await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: t.key })).body as { rollout_id: string; seed: number; split: string; candidate_id: string };
      if (next.candidate_id === 'cand_lossy') {
        if (next.split === 'val') heldVal.push(next.rollout_id);
        else if (lossy++ < 5 || lossy % 3 === 0) expect((await reward(next.rollout_id, 1)).job_status).toBe('running');
      } else {
        expect((await reward(next.rollout_id, next.seed % 2)).job_status).toBe('running');
      }
    }
    expect(heldVal).toHaveLength(4); // the child was champion and was issued every val seed

    // Its dropped rewards are now past the in-flight expiry: it is flagged, the control is champion.
    now += 11 * MINUTE;
    let status = 'running';
    for (const id of heldVal) status = (await reward(id, 1)).job_status;
    const job = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body;
    const flagged = job.candidates.find((c: { candidate_id: string }) => c.candidate_id === 'cand_lossy');
    expect(flagged.missing_rewards_flagged).toBe(true);
    const events = await t.server.store.listEvents(s.job_id, 0, 100_000);
    // Before the fix the rule identified the flagged child (lower bound 0.82 against the control's upper
    // 0.70, confirmed by its val rewards) and ended the job "cand_lossy identified" serving the baseline.
    expect(events.find((e) => e.eventType === 'mipro.job.status' && e.data.status !== 'running')).toBeUndefined();
    expect({ status, best: job.best_candidate_id, served: job.served_candidate_id }).toEqual({ status: 'running', best: 'baseline', served: null });
  });
});
