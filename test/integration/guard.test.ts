import { describe, expect, it } from 'vitest';
import { type FakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';
import { addProgram } from '../helpers/programs.js';
import { GUARD_BASELINE as BASELINE, createGuardJob, driveGuardJobToEnd, guardCall, guardReward } from '../helpers/guardWorld.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * The guard (mipro.guard) over HTTP, on SQLite and PostgreSQL: a job optimizes in a planted world
 * (the winner always earns 1, the baseline 0) and ends serving the winner; production rewards then
 * either collapse (the guard trips: an event once, and with "revert" the proxy serves the baseline)
 * or hold (it keeps watching).
 */
describe.each<TestDb>(['sqlite', 'postgres'])('the guard after the end (%s)', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, start: { cacheTtlMs: 20 }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));

  const chat = guardCall;
  const reward = (job: { system_id: string }, rollout: string, score: number) => guardReward(t, job, rollout, score);
  const view = async (job: { job_id: string }) => (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
  const guardEvents = async (job: { system_id: string }) => {
    const res = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=500`, { key: t.key });
    return res.body.events.filter((e: { event_type: string }) => e.event_type === 'mipro.guard.tripped');
  };

  /** Optimizes to the end (40 rewards): the winner earns 1, the baseline 0; it serves the winner. */
  async function endedJob(guard?: string) {
    const job = await createGuardJob(t, guard ? { guard } : {});
    const running = await view(job);
    expect(running.guard).toMatchObject({ state: guard === 'off' ? 'off' : 'not_serving', candidate_id: null, served_candidate_id: null, tripped_at: null });
    await driveGuardJobToEnd(t, job);
    const ended = await view(job);
    expect(ended).toMatchObject({ status: 'succeeded', served_candidate_id: 'cand_win', best_score_source: 'online' });
    expect(ended.guard).toMatchObject({ mode: guard ?? 'alert', state: guard === 'off' ? 'off' : 'watching', candidate_id: 'cand_win', monitored: { n: 0, mean: null, ci: null } });
    expect(ended.guard).toMatchObject({ served_candidate_id: 'cand_win', tripped_at: null, can_trip: guard !== 'off' });
    expect(ended.guard.confirmed.score).toBe(1);
    return job;
  }

  /** Production traffic after the end: `n` rollouts through the proxy, each rewarded `score`. */
  async function monitor(job: { proxy_url: string; system_id: string }, prefix: string, n: number, score: number): Promise<string[]> {
    const served: string[] = [];
    for (let i = 0; i < n; i++) {
      served.push((await chat(job, `${prefix}${i}`)).headers.get('x-mipro-candidate-id') ?? '');
      expect((await reward(job, `${prefix}${i}`, score)).status).toBe(200);
    }
    return served;
  }

  it('revert: a served candidate whose rewards collapse trips the guard, and the proxy serves the baseline', async () => {
    const job = await endedJob('revert');
    const served = await monitor(job, 'm', 40, 0);
    const tripAt = served.indexOf('baseline');
    // Not on the first bad rewards (that would be a naive test), but well before 40.
    expect(tripAt).toBeGreaterThan(5);
    expect(served.slice(0, tripAt).every((id) => id === 'cand_win')).toBe(true);
    expect(served.slice(tripAt).every((id) => id === 'baseline')).toBe(true);
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe(BASELINE);
    const events = await guardEvents(job);
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({
      candidate_id: 'cand_win', mode: 'revert', reverted: true, served_candidate_id: 'baseline',
      monitored: { mean: 0 }, confirmed: { score: 1, source: 'online' },
    });
    expect(events[0].data.monitored.ci[1]).toBeLessThan(events[0].data.confirmed.ci[0]);
    const after = await view(job);
    expect(after.served_candidate_id).toBe('baseline');
    expect(after.guard).toMatchObject({ mode: 'revert', state: 'tripped', candidate_id: 'cand_win', monitored: { n: tripAt, mean: 0 } });
    // When it tripped is its event's time; the guard names the tripped candidate and what is served now.
    expect(after.guard).toMatchObject({ served_candidate_id: 'baseline', tripped_at: events[0].created_at });
  });

  it('alert: the guard trips once and the job keeps serving its candidate; a promote watches afresh', async () => {
    const job = await endedJob();
    const served = await monitor(job, 'm', 40, 0);
    expect(new Set(served)).toEqual(new Set(['cand_win']));
    const events = await guardEvents(job);
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ mode: 'alert', reverted: false, served_candidate_id: 'cand_win' });
    expect((await view(job)).guard).toMatchObject({ state: 'tripped', monitored: { n: 40, mean: 0 } });
    const promoted = await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'baseline' } });
    expect(promoted.body.guard).toMatchObject({ state: 'watching', candidate_id: 'baseline', served_candidate_id: 'baseline', tripped_at: null });
  });

  it('does not trip while the served candidate holds its score, and "off" never watches', async () => {
    const job = await endedJob();
    expect(new Set(await monitor(job, 'm', 40, 1))).toEqual(new Set(['cand_win']));
    expect(await guardEvents(job)).toHaveLength(0);
    expect((await view(job)).guard).toMatchObject({ state: 'watching', monitored: { n: 40, mean: 1 } });

    const off = await endedJob('off');
    await monitor(off, 'm', 40, 0);
    expect(await guardEvents(off)).toHaveLength(0);
    expect((await view(off)).guard).toMatchObject({ mode: 'off', state: 'off', monitored: { n: 40, mean: 0 } });
  });

  it('seed-level: monitored rewards repeating two seeds (temperature 0) do not trip it; the same failures over many seeds do', async () => {
    const job = await endedJob('revert');
    // 40 failures on seeds 1 and 2 alone: two inputs, two observations. Per rollout (the guard
    // before seed-level statistics) this tripped within 40 rewards, as the revert test shows.
    for (let i = 0; i < 40; i++) {
      const res = await api(`${job.proxy_url}/s${i}`, 'POST', `/chat/completions?seed=${1 + (i % 2)}`, {
        body: { model: 'x', messages: [{ role: 'system', content: BASELINE }, { role: 'user', content: 'q' }] },
      });
      expect(res.headers.get('x-mipro-candidate-id')).toBe('cand_win');
      expect((await reward(job, `s${i}`, 0)).status).toBe(200);
    }
    expect(await guardEvents(job)).toHaveLength(0);
    const held = await view(job);
    expect(held.guard).toMatchObject({ state: 'watching', monitored: { n: 40, mean: 0 } });
    // Two seeds: the monitored interval is as wide as two observations make it.
    expect(held.guard.monitored.ci[1]).toBeGreaterThanOrEqual(held.guard.confirmed.ci[0]);
    // Failures on new seeds are evidence about the population of inputs: the guard trips.
    let tripped = false;
    for (let i = 0; i < 60 && !tripped; i++) {
      const res = await api(`${job.proxy_url}/n${i}`, 'POST', `/chat/completions?seed=${1000 + i}`, {
        body: { model: 'x', messages: [{ role: 'system', content: BASELINE }, { role: 'user', content: 'q' }] },
      });
      expect((await reward(job, `n${i}`, 0)).status).toBe(200);
      tripped = res.headers.get('x-mipro-candidate-id') === 'baseline';
    }
    expect(await guardEvents(job)).toHaveLength(1);
    expect((await view(job)).guard).toMatchObject({ state: 'tripped', candidate_id: 'cand_win' });
  });

  it('says when it cannot trip: a candidate promoted after a few rewards has a confirmed lower bound at the bottom of the range', async () => {
    const job = await createGuardJob(t, { guard: 'revert' });
    await addProgram(t.server.store, job.job_id, 'cand_few', { main: 'Answer the question briefly.' }, 'main');
    for (let i = 0; i < 3; i++) {
      const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `f${i}`, candidate_id: 'cand_few', reward_info: { score: 1 } } });
      expect(res.status).toBe(200);
    }
    const promoted = await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_few' } });
    expect(promoted.status).toBe(200);
    // Three rewards of 1: a mean of 1 whose interval still reaches 0.
    expect(promoted.body.guard).toMatchObject({ state: 'watching', candidate_id: 'cand_few', confirmed: { score: 1, ci: [0, 1] }, can_trip: false });
    // However badly production goes, the monitored interval never passes below 0: no trip, no revert.
    expect(new Set(await monitor(job, 'm', 40, 0))).toEqual(new Set(['cand_few']));
    expect(await guardEvents(job)).toHaveLength(0);
    expect((await view(job)).guard).toMatchObject({ state: 'watching', monitored: { n: 40, mean: 0 }, can_trip: false });
    // Rolled back to the baseline (never rewarded here: no confirmed score), it cannot trip either.
    const rolledBack = await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'baseline' } });
    expect(rolledBack.body.guard).toMatchObject({ candidate_id: 'baseline', confirmed: null, can_trip: false });
  });

  it('refuses an unknown guard mode and unknown keys of the stop rule', async () => {
    const bad = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ mipro: { guard: 'loud' } }) });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('mipro.guard');
    const typo = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ mipro: { stop_when_identified: { epsilon: 0.02, delts: 0.1 } } }) });
    expect(typo.status).toBe(422);
    expect(JSON.stringify(typo.body)).toContain('delta');
  });
});
