import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, lastUserMessageOf, startFakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const BASELINE = 'Answer the question.';

/**
 * Features together over HTTP (the stop rule, the guard, reward_range, the end, restarts), in the
 * planted world of stopRule.test.ts: an EXCELLENT instruction is always right, the baseline is right
 * on even seeds only.
 */
describe('features together', () => {
  let policy: FakeUpstream;
  let t: TestServer;
  const dbFile = join(mkdtempSync(join(tmpdir(), 'miprox-cross-')), 'miprox.db');
  const env = () => ({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: policy.url, DATABASE_URL: dbFile });
  let key = '';
  beforeAll(async () => {
    policy = await startFakeUpstream({ reply: (req) => (systemPromptOf(req).includes('EXCELLENT') ? 'right' : lastUserMessageOf(req)) });
    t = await startTestServer({ env: env(), start: { cacheTtlMs: 20 } });
    key = t.key;
  });
  afterAll(async () => {
    await t.close();
    await policy.close();
  });

  async function newSession(mipro: Record<string, unknown>) {
    const body = seedJobBody({
      initialPrompt: BASELINE,
      mipro: {
        bootstrap_train_seeds: [0, 1, 2, 3], online_pool: { start: 0, end: 50 }, val_seeds: { start: 100, end: 106 },
        online_rollouts_per_candidate: 5, online_proposer_max_candidates: 2, max_rollouts: 5000, ...mipro,
      },
    });
    const res = await api(t.url, 'POST', SESSIONS, { key, body: { config_body: body } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const s = res.body as { session_id: string; job_id: string };
    const added = await api(t.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key, body: { instruction: 'Be EXCELLENT at answering.' } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    return { ...s, winner: added.body.candidate_id as string };
  }

  interface Issued { rollout_id: string; seed: number; split: string; candidate_id: string; chat_completions_url: string }

  async function issue(sessionId: string, body?: unknown): Promise<Issued> {
    const res = await api(t.url, 'POST', `${SESSIONS}/${sessionId}/rollouts`, { key, ...(body ? { body } : {}) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Issued;
  }

  /** The app's call for an issued rollout: 1 when the answer is right (scaled to the job's range by the caller). */
  async function run(next: Issued): Promise<{ score: number; served: string }> {
    const res = await fetch(next.chat_completions_url, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `question seed=${next.seed}` }] }),
    });
    const text = ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
    return { score: text === 'right' || next.seed % 2 === 0 ? 1 : 0, served: res.headers.get('x-mipro-candidate-id') ?? '' };
  }

  async function reward(sessionId: string, rolloutId: string, score: number) {
    const r = await api(t.url, 'POST', `${SESSIONS}/${sessionId}/reward`, { key, body: { rollout_id: rolloutId, reward_info: { score } } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body as { job_status: string; split: string; duplicate: boolean; candidate_id: string };
  }

  const view = async (sessionId: string) => (await api(t.url, 'GET', `${SESSIONS}/${sessionId}`, { key })).body;

  it('reward_range [0, 10]: the stop rule ends the job, best_score is in reward units, and the guard reverts on collapse', async () => {
    const s = await newSession({ reward_range: [0, 10], stop_when_identified: { epsilon: 0.05, delta: 0.05 }, guard: 'revert' });
    let status = 'running';
    let n = 0;
    while (status === 'running' && n++ < 1500) {
      const next = await issue(s.session_id);
      status = (await reward(s.session_id, next.rollout_id, 10 * (await run(next)).score)).job_status;
    }
    expect(status).toBe('succeeded');
    const ended = await view(s.session_id);
    expect(ended).toMatchObject({ served_candidate_id: s.winner, best_candidate_id: s.winner, best_score_source: 'val', best_score: 10 });
    expect(ended.best_score_ci[1]).toBeLessThanOrEqual(10);
    expect(ended.best_score_ci[0]).toBeGreaterThan(5);
    expect(ended.guard).toMatchObject({ state: 'watching', candidate_id: s.winner });
    expect(ended.guard.confirmed.score).toBe(10);
    // Production collapses: monitoring rollouts from the scheduler, rewarded 0.
    const served: string[] = [];
    for (let i = 0; i < 40; i++) {
      const next = await issue(s.session_id);
      expect(next.split).toBe('monitor');
      served.push(next.candidate_id);
      const r = await reward(s.session_id, next.rollout_id, 0);
      expect(r.split).toBe('monitor');
    }
    const tripAt = served.indexOf('baseline');
    expect(tripAt).toBeGreaterThan(2);
    expect(served.slice(tripAt).every((id) => id === 'baseline')).toBe(true);
    const after = await view(s.session_id);
    expect(after).toMatchObject({ status: 'succeeded', served_candidate_id: 'baseline', best_candidate_id: s.winner });
    expect(after.guard).toMatchObject({ state: 'tripped', candidate_id: s.winner, served_candidate_id: 'baseline' });
    expect(after.guard.confirmed.score).toBe(10);
    expect(after.guard.monitored.mean).toBe(0);
  }, 120_000);

  it('a cancel with val confirmation and training rollouts in flight: their rewards are monitor, nothing counted moves', async () => {
    const s = await newSession({});
    const held: Array<{ next: Issued; score: number }> = [];
    let valHeld = false;
    let onlineHeld = false;
    for (let i = 0; i < 300 && !(valHeld && onlineHeld); i++) {
      const next = await issue(s.session_id);
      const { score } = await run(next);
      if (next.candidate_id === s.winner && next.split === 'val' && !valHeld) {
        held.push({ next, score });
        valHeld = true;
      } else if (next.candidate_id === s.winner && next.split === 'online' && valHeld && !onlineHeld) {
        held.push({ next, score });
        onlineHeld = true;
      } else {
        await reward(s.session_id, next.rollout_id, score);
      }
    }
    expect(held).toHaveLength(2);
    // One more rollout rewarded before the end, and rewarded again after it.
    const twice = await issue(s.session_id);
    const first = await reward(s.session_id, twice.rollout_id, (await run(twice)).score);
    expect(first).toMatchObject({ duplicate: false });
    const before = await view(s.session_id);
    const cancel = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/cancel`, { key });
    expect(cancel.status).toBe(200);
    // A rollout in flight keeps its candidate for its later calls; its reward is monitoring.
    for (const h of held) {
      const again = await run(h.next);
      expect(again.served).toBe(s.winner);
      const r = await reward(s.session_id, h.next.rollout_id, h.score);
      expect(r).toMatchObject({ split: 'monitor', candidate_id: s.winner, duplicate: false, job_status: 'cancelled' });
    }
    const dup = await reward(s.session_id, twice.rollout_id, 1 - first.split.length % 2);
    expect(dup).toMatchObject({ duplicate: true, split: first.split });
    const after = await view(s.session_id);
    expect(after).toMatchObject({
      status: 'cancelled', served_candidate_id: 'baseline', reward_count: before.reward_count,
      best_score: before.best_score, best_score_source: before.best_score_source, best_candidate_id: before.best_candidate_id,
    });
    const winnerBefore = before.candidates.find((c: { candidate_id: string }) => c.candidate_id === s.winner);
    const winnerAfter = after.candidates.find((c: { candidate_id: string }) => c.candidate_id === s.winner);
    expect(winnerAfter).toMatchObject({ reward_count: winnerBefore.reward_count, val_count: winnerBefore.val_count, avg_reward: winnerBefore.avg_reward, val_score: winnerBefore.val_score });
    // The guard watches the baseline (what a cancelled job serves): a winner's late reward is not its business.
    expect(after.guard).toMatchObject({ candidate_id: 'baseline', monitored: { n: 0 } });
    const next = await issue(s.session_id);
    expect(next).toMatchObject({ split: 'monitor', candidate_id: 'baseline' });
    expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key, body: { split: 'val' } })).status).toBe(409);
  });

  it('a restart mid-job on the same SQLite file: rollouts issued before it are rewarded after it, and the job goes on to its stop', async () => {
    const s = await newSession({ stop_when_identified: { epsilon: 0.01, delta: 0.05 } });
    const held: Array<{ next: Issued; score: number }> = [];
    for (let i = 0; i < 40; i++) {
      const next = await issue(s.session_id);
      const { score } = await run(next);
      if (i % 5 === 0) held.push({ next, score });
      else await reward(s.session_id, next.rollout_id, score);
    }
    const before = await view(s.session_id);
    await t.close();
    const oldOrigin = new URL(t.url).origin;
    t = await startTestServer({ env: env(), start: { cacheTtlMs: 20 } });
    // The proxy URL and ids stay (the port is new); calls of a held rollout keep its candidate.
    for (const h of held) {
      h.next.chat_completions_url = h.next.chat_completions_url.replace(oldOrigin, new URL(t.url).origin);
      expect((await run(h.next)).served).toBe(h.next.candidate_id);
      expect(await reward(s.session_id, h.next.rollout_id, h.score)).toMatchObject({ duplicate: false, split: h.next.split, candidate_id: h.next.candidate_id });
    }
    const resumed = await view(s.session_id);
    expect(resumed.reward_count).toBe(before.reward_count + held.length);
    let status = 'running';
    let n = 0;
    const issued: Issued[] = [];
    while (status === 'running' && n++ < 1500) {
      const next = await issue(s.session_id);
      issued.push(next);
      status = (await reward(s.session_id, next.rollout_id, (await run(next)).score)).job_status;
    }
    expect(status).toBe('succeeded');
    // No bootstrap seed twice, no val seed twice for one candidate, across the restart.
    expect(issued.filter((r) => r.split === 'bootstrap')).toHaveLength(0);
    const vals = await t.server.store.valSeedsIssued(s.job_id);
    for (const seeds of vals.values()) expect(new Set(seeds).size).toBe(seeds.length);
    expect(await view(s.session_id)).toMatchObject({ served_candidate_id: s.winner, best_score_source: 'val' });
  }, 120_000);

  it('val_seeds listing a seed twice: the stop rule still sees the champion confirmed on every val seed', async () => {
    // The scheduler runs a val seed once per candidate; the rule counted the listed entries (4), so
    // a confirmation of the 3 distinct seeds never completed and the job never stopped.
    const s = await newSession({ val_seeds: [100, 101, 102, 100], stop_when_identified: { epsilon: 0.01, delta: 0.05 } });
    let status = 'running';
    let n = 0;
    while (status === 'running' && n++ < 1500) {
      const next = await issue(s.session_id);
      status = (await reward(s.session_id, next.rollout_id, (await run(next)).score)).job_status;
    }
    expect(status).toBe('succeeded');
    expect(await view(s.session_id)).toMatchObject({ served_candidate_id: s.winner, best_score_source: 'val', best_score_n: 3 });
  }, 120_000);

  it('the legacy state dict after the end: a candidate\'s rewards are the training rewards it counts, never monitor ones', async () => {
    const s = await newSession({});
    for (let i = 0; i < 30; i++) {
      const next = await issue(s.session_id);
      await reward(s.session_id, next.rollout_id, (await run(next)).score);
    }
    expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/cancel`, { key })).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const next = await issue(s.session_id);
      expect((await reward(s.session_id, next.rollout_id, 1)).split).toBe('monitor');
    }
    const state = (await api(t.url, 'GET', `/api/prompt-learning/online/mipro/systems/${s.session_id}/state`, { key })).body;
    const job = await view(s.session_id);
    for (const c of job.candidates as Array<{ candidate_id: string; reward_count: number }>) {
      // Before the fix the baseline's list also held the 5 monitor rewards (reward_count 5 short of it).
      expect(state.candidates[c.candidate_id].rewards).toHaveLength(c.reward_count);
      expect(state.candidates[c.candidate_id].reward_count).toBe(c.reward_count);
    }
  });

  it('reward_range [0, 100]: the stop rule takes an epsilon in reward units (5 points), bounded by the range\'s width', async () => {
    const create = (range: number[], epsilon: number) => api(t.url, 'POST', SESSIONS, { key, body: { config_body: seedJobBody({
      initialPrompt: BASELINE, mipro: { reward_range: range, stop_when_identified: { epsilon, delta: 0.05 } },
    }) } });
    // Before the fix epsilon had to be below 1 whatever the range: at most 1% of a 0-100 score.
    const wide = await create([0, 100], 5);
    expect(wide.status, JSON.stringify(wide.body)).toBe(200);
    for (const [range, epsilon] of [[[0, 100], 100], [[0, 1], 1], [[0, 1], 0]] as const) {
      const refused = await create([...range], epsilon);
      expect(refused.status).toBe(422);
      expect(refused.body.error.details.map((d: { path: string }) => d.path)).toEqual(['config_body.policy_optimization.mipro.stop_when_identified.epsilon']);
    }
    const s = await newSession({ reward_range: [0, 100], stop_when_identified: { epsilon: 5, delta: 0.05 } });
    let status = 'running';
    let n = 0;
    while (status === 'running' && n++ < 1500) {
      const next = await issue(s.session_id);
      status = (await reward(s.session_id, next.rollout_id, 100 * (await run(next)).score)).job_status;
    }
    expect(status).toBe('succeeded');
    expect(await view(s.session_id)).toMatchObject({ served_candidate_id: s.winner, best_score: 100, best_score_source: 'val' });
  }, 120_000);
});
