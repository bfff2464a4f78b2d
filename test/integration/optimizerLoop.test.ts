import { describe, expect, it } from 'vitest';
import { type FakeUpstream, lastUserMessageOf, systemPromptOf } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const BASELINE = 'Answer the question.';
const VAL = { start: 100, end: 130 };

/**
 * The optimizer end to end over HTTP: a fake policy whose quality depends on the injected
 * instruction, and a fake proposer scripted to propose a much better and a much worse instruction,
 * then garbage, then nothing (timeout), then more variants.
 */
describe('the MIPRO optimizer over HTTP', () => {
  let proposer: FakeUpstream;
  let t: TestServer;
  let proposerCalls = 0;

  useProposerServer({
    // Policy: "right" for EXCELLENT instructions, "wrong" for TERRIBLE ones, else echo the seed.
    policy: {
      reply: (req) => {
        const sys = systemPromptOf(req);
        if (sys.includes('EXCELLENT')) return 'right';
        if (sys.includes('TERRIBLE')) return 'wrong';
        return lastUserMessageOf(req);
      },
    },
    proposer: {
      reply: (req) => {
        const prompt = JSON.stringify(req.body);
        if (prompt.includes('describe these inputs') || prompt.includes('describe datasets') || /summar/i.test(systemPromptOf(req))) {
          return 'Short questions that each carry a seed number.';
        }
        proposerCalls++;
        if (proposerCalls === 1) return JSON.stringify({ instructions: ['Be EXCELLENT at answering.', 'Be TERRIBLE at answering.'] });
        if (proposerCalls === 2) return 'I would rather not.';
        return JSON.stringify({ instructions: [`Be EXCELLENT, variant ${proposerCalls}.`] });
      },
    },
    env: { PROPOSER_TIMEOUT_MS: '500' },
    // No periodic lease sweep: it is for proposals whose instance died (proposalLeases.test.ts), and
    // here it would race the live runner of the proposer-timeout test below (see there).
    start: { cacheTtlMs: 50, proposalSweepIntervalMs: 3_600_000 },
  }, (s) => ({ proposer, t } = s));

  async function newSession(mipro: Record<string, unknown>) {
    const body = seedJobBody({ proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url, initialPrompt: BASELINE, mipro });
    const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } });
    expect(res.status).toBe(200);
    return res.body as { session_id: string; job_id: string };
  }

  /** One scheduled rollout: ask for a seed, call the proxy, score the answer; `report` sends the reward. */
  async function dispatch(sessionId: string): Promise<{ split: string; seed: number; candidate: string; report: () => Promise<void> }> {
    const next = (await api(t.url, 'POST', `${SESSIONS}/${sessionId}/rollouts`, { key: t.key })).body;
    const res = await fetch(next.chat_completions_url, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `question seed=${next.seed}` }] }),
    });
    const out = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    const text = out.choices[0]!.message.content;
    // The baseline is right on even seeds only (mean 0.5).
    const score = text === 'right' ? 1 : text === 'wrong' ? 0 : next.seed % 2 === 0 ? 1 : 0;
    const report = async () => {
      const r = await api(t.url, 'POST', `${SESSIONS}/${sessionId}/reward`, { key: t.key, body: { rollout_id: next.rollout_id, reward_info: { score } } });
      expect(r.status).toBe(200);
    };
    return { split: next.split, seed: next.seed, candidate: res.headers.get('x-mipro-candidate-id')!, report };
  }

  /** One scheduled rollout, rewarded at once. */
  async function rollout(sessionId: string): Promise<{ split: string; seed: number; candidate: string }> {
    const r = await dispatch(sessionId);
    await r.report();
    return r;
  }

  const status = async (id: string) => (await api(t.url, 'GET', `${SESSIONS}/${id}`, { key: t.key })).body;
  const events = async (id: string) => (await api(t.url, 'GET', `${SESSIONS}/${id}/events?limit=1000`, { key: t.key })).body.events as Array<{ event_type: string; message: string; data: Record<string, unknown> }>;
  const settle = () => new Promise((r) => setTimeout(r, 150));
  /** Polls until `check` holds (proposals run in the background; a loaded machine may be slow). */
  async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const noProposalRunning = async (id: string) =>
    ((await api(t.url, 'GET', `${SESSIONS}/${id}/proposals`, { key: t.key })).body.items as Array<{ status: string }>).every((p) => p.status !== 'running');

  it('proposes after min_rollouts, explores, retires the loser, crowns the winner, and survives a bad proposer', async () => {
    const s = await newSession({
      bootstrap_train_seeds: [0, 1, 2, 3, 4], online_pool: { start: 0, end: 100 }, val_seeds: VAL,
      online_proposer_min_rollouts: 10, online_rollouts_per_candidate: 20, online_proposer_max_candidates: 6,
    });
    const splits: string[] = [];
    for (let i = 0; i < 9; i++) splits.push((await rollout(s.session_id)).split);
    await settle();
    expect(splits.slice(0, 5)).toEqual(['bootstrap', 'bootstrap', 'bootstrap', 'bootstrap', 'bootstrap']);
    expect((await status(s.session_id)).proposal_seq).toBe(0); // not before min_rollouts
    splits.push((await rollout(s.session_id)).split);
    await until(async () => (await status(s.session_id)).candidates.length === 3);
    let st = await status(s.session_id);
    expect(st.proposal_seq).toBe(1);
    expect(st.candidates.map((c: { instruction: string }) => c.instruction)).toEqual([BASELINE, 'Be EXCELLENT at answering.', 'Be TERRIBLE at answering.']);

    const served = new Map<string, number>();
    for (let i = 0; i < 240; i++) {
      const r = await rollout(s.session_id);
      served.set(r.candidate, (served.get(r.candidate) ?? 0) + 1);
      if (i % 20 === 0) await until(() => noProposalRunning(s.session_id));
    }
    await until(() => noProposalRunning(s.session_id));
    st = await status(s.session_id);
    const byText = (needle: string) => st.candidates.find((c: { instruction: string }) => c.instruction.includes(needle));
    const excellent = byText('Be EXCELLENT at answering.');
    const terrible = byText('TERRIBLE');
    expect(served.get(excellent.candidate_id)).toBeGreaterThan(20); // new candidates get traffic
    expect(terrible.rollout_count).toBeGreaterThanOrEqual(20); // the nursery gave it a fair stint of R
    expect(terrible.status, JSON.stringify(st.candidates)).toBe('retired');
    expect(st.best_candidate_id).not.toBe('baseline');
    expect(st.best_prompt).toContain('EXCELLENT');
    expect(st.best_score_source).toBe('val');
    expect(st.best_score).toBeGreaterThan(0.9);
    expect(st.best_score_ci[0]).toBeGreaterThan(st.baseline_score ?? 0.5);
    expect(st.baseline_score).toBeLessThan(0.75);

    const evs = await events(s.session_id);
    const types = new Set(evs.map((e) => e.event_type));
    for (const type of ['mipro.proposal.created', 'mipro.candidate.retired', 'mipro.best.changed', 'mipro.reward.received']) expect(types).toContain(type);
    // The garbage answer became an event and a later retry, not a failed job.
    expect(evs.some((e) => e.event_type === 'mipro.proposal.failed' && /no usable instruction/.test(e.message))).toBe(true);
    expect(st.status).toBe('running');
    expect(st.proposal_seq).toBeGreaterThanOrEqual(3);
    expect(st.candidates.some((c: { instruction: string }) => c.instruction.includes('variant'))).toBe(true);

    // Val seeds confirm the champion but never reach the proposer.
    const proposals = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: t.key })).body.items;
    expect(proposals.length).toBe(st.proposal_seq);
    expect(proposals.map((p: { seq: number }) => p.seq)).toEqual(Array.from({ length: st.proposal_seq }, (_, i) => st.proposal_seq - i));
    // Page after page with the cursor, the same proposals in the same order, and the last page says so.
    const paged: number[] = [];
    let cursor: string | null = null;
    do {
      const page = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: t.key })).body as { items: Array<{ seq: number }>; next_cursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items.map((p) => p.seq));
      expect(page).toHaveProperty('next_cursor');
      cursor = page.next_cursor;
    } while (typeof cursor === 'string');
    expect(paged).toEqual(proposals.map((p: { seq: number }) => p.seq));
    const seenByProposer = JSON.stringify(proposer.requests.map((r) => r.body)) + JSON.stringify(proposals.map((p: { prompt: unknown }) => p.prompt));
    for (let seed = VAL.start; seed < VAL.end; seed++) expect(seenByProposer).not.toContain(`seed=${seed}`);
    expect(seenByProposer).toContain('seed='); // it did see training inputs
    // Grounding: the scheduled rollouts' inputs (not only their outputs) reach the proposer, and the
    // dataset summary built from them is in the prompt.
    const promptText = proposals.map((p: { prompt: Array<{ content: string }> }) => p.prompt.map((m) => m.content).join('\n')).join('\n');
    expect(promptText).toMatch(/Input:\n[^\n]*question seed=\d+/);
    expect(promptText).toContain('Short questions that each carry a seed number.');
    // Every proposer request names the proposer's model and a length limit this provider reads.
    for (const r of proposer.requests) {
      expect(r.body).toMatchObject({ model: 'fake-proposer', max_tokens: expect.any(Number) });
    }
    const valEvals = (await api(t.url, 'GET', `/api/systems/${s.session_id}/seed-evals?split=val&limit=1000`, { key: t.key })).body.items;
    expect(valEvals.length).toBeGreaterThan(0);
    for (const e of valEvals) expect(e.seed).toBeGreaterThanOrEqual(VAL.start);
  });

  it('stops proposing while paused, keeps serving, and resumes', async () => {
    const s = await newSession({ online_proposer_min_rollouts: 5, online_rollouts_per_candidate: 2, bootstrap_train_seeds: [0], val_seeds: [100] });
    await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/pause`, { key: t.key });
    for (let i = 0; i < 12; i++) await rollout(s.session_id);
    await settle();
    const paused = await status(s.session_id);
    expect(paused.status).toBe('paused');
    expect(paused.proposal_seq).toBe(0);
    expect(paused.reward_count).toBe(12);
    await api(t.url, 'PATCH', `${SESSIONS}/${s.session_id}`, { key: t.key, body: { state: 'running' } });
    await rollout(s.session_id);
    await until(async () => (await status(s.session_id)).proposal_seq === 1);
  });

  it('serves the best known candidate to every new rollout while paused (SPEC.md), and explores again on resume', async () => {
    const s = await newSession({ online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 2, bootstrap_train_seeds: [0], online_pool: { start: 0, end: 100 }, val_seeds: [100, 101] });
    // EXCELLENT children answer right every time, the baseline on half the seeds: one becomes best.
    await until(async () => {
      await rollout(s.session_id);
      const st = await status(s.session_id);
      return st.best_candidate_id !== 'baseline' && st.candidates.length >= 3;
    }, 20_000);
    await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/pause`, { key: t.key });
    const best = (await status(s.session_id)).best_candidate_id;
    const paused = [];
    for (let i = 0; i < 12; i++) paused.push(await rollout(s.session_id));
    // Scheduled rollouts are online ones (no val confirmation of the control or the runner-up), and
    // the bandit does not explore: everyone gets the best candidate.
    expect(paused.map((r) => `${r.split}:${r.candidate}`)).toEqual(Array(12).fill(`online:${best}`));
    await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/resume`, { key: t.key });
    const resumed = [];
    for (let i = 0; i < 30; i++) resumed.push(await rollout(s.session_id));
    expect(new Set(resumed.map((r) => r.candidate)).size).toBeGreaterThan(1);
  });

  it('turns a proposer timeout into an event, not a failed job', async () => {
    const s = await newSession({ online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 2, bootstrap_train_seeds: [0], val_seeds: [100] });
    proposer.setBehavior({ hang: true });
    try {
      for (let i = 0; i < 3; i++) await rollout(s.session_id);
      await until(async () => (await events(s.session_id)).some((e) => e.event_type === 'mipro.proposal.failed'));
      const evs = await events(s.session_id);
      const failed = evs.filter((e) => e.event_type === 'mipro.proposal.failed').map((e) => e.message);
      // The proposer's timeout names itself. The runner writes it; this server runs no periodic lease
      // sweep, which could otherwise fail the live proposal as abandoned if its two timed-out calls (the
      // dataset summary's and the proposal's) and the work around them outlasted the lease on a loaded
      // machine (proposalLeaseLive.test.ts checks the lease against a sweep).
      expect(failed.some((m) => /within 500 ms/.test(m)), JSON.stringify(failed)).toBe(true);
      expect((await status(s.session_id)).status).toBe('running');
      expect((await rollout(s.session_id)).candidate).toBe('baseline');
    } finally {
      proposer.setBehavior({ hang: false, reply: () => JSON.stringify({ instructions: ['Be EXCELLENT after the outage.'] }) });
    }
  });

  it('waits until the last proposal\'s children are measured before proposing again', async () => {
    const R = 4;
    const s = await newSession({
      online_proposer_min_rollouts: 3, online_rollouts_per_candidate: R, bootstrap_train_seeds: [0], online_pool: { start: 0, end: 100 }, val_seeds: [100],
    });
    for (let i = 0; i < 3; i++) await rollout(s.session_id);
    await until(async () => (await status(s.session_id)).proposal_seq === 1 && (await noProposalRunning(s.session_id)));
    const children = (await status(s.session_id)).candidates.length - 1;
    expect(children).toBeGreaterThanOrEqual(1);
    // Every reward of the control arrives; the new candidates' rewards are held back.
    const held: Array<() => Promise<void>> = [];
    let controlRewards = 0;
    for (let i = 0; i < 80 && controlRewards < 8; i++) {
      const r = await dispatch(s.session_id);
      if (r.candidate === 'baseline') {
        await r.report();
        controlRewards++;
      } else held.push(r.report);
    }
    await settle();
    expect(controlRewards).toBe(8); // well past min_rollouts (3)
    expect(held.length).toBeGreaterThanOrEqual(children * R); // the nursery gave each child its stint
    const waiting = await status(s.session_id);
    expect(waiting.proposal_seq).toBe(1);
    expect(waiting.candidates.length).toBe(children + 1);
    // R/2 rewards per child measure it; the next reward then triggers the proposal.
    for (const report of held) await report();
    await until(async () => (await status(s.session_id)).proposal_seq === 2);
  });
});
