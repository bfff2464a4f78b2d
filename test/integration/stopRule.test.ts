import { describe, expect, it } from 'vitest';
import { lastUserMessageOf, systemPromptOf } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const BASELINE = 'Answer the question.';
const VAL_SEEDS = 10;

/**
 * mipro.stop_when_identified in a planted world: the policy answers right for an EXCELLENT
 * instruction and is right on even seeds only otherwise (the baseline's mean is 0.5). With the
 * candidate cap reached (baseline + one warm-start candidate) the job ends by itself once the
 * winner is identified and confirmed on every val seed; without the rule the same world runs on.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('the stop rule (%s)', (db) => {
  let t: TestServer;
  useFakeUpstreamServer({
    db,
    upstream: { reply: (req) => (systemPromptOf(req).includes('EXCELLENT') ? 'right' : systemPromptOf(req).includes('TERRIBLE') ? 'wrong' : lastUserMessageOf(req)) },
    start: { cacheTtlMs: 20 },
  }, (s) => ({ t } = s));

  async function newSession(mipro: Record<string, unknown>, instruction = 'Be EXCELLENT at answering.') {
    const body = seedJobBody({
      initialPrompt: BASELINE,
      mipro: {
        bootstrap_train_seeds: [0, 1, 2, 3], online_pool: { start: 0, end: 50 }, val_seeds: { start: 100, end: 100 + VAL_SEEDS },
        online_rollouts_per_candidate: 5, online_proposer_max_candidates: 2, max_rollouts: 5000, ...mipro,
      },
    });
    const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const s = res.body as { session_id: string; job_id: string };
    const added = await api(t.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key: t.key, body: { instruction } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    return { ...s, winner: added.body.candidate_id as string };
  }

  /** One scheduled rollout; answers the job's status after its reward. */
  async function rollout(sessionId: string): Promise<string> {
    const next = (await api(t.url, 'POST', `${SESSIONS}/${sessionId}/rollouts`, { key: t.key })).body;
    const res = await fetch(next.chat_completions_url, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `question seed=${next.seed}` }] }),
    });
    const text = ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
    const score = text === 'right' || (text !== 'wrong' && next.seed % 2 === 0) ? 1 : 0;
    const r = await api(t.url, 'POST', `${SESSIONS}/${sessionId}/reward`, { key: t.key, body: { rollout_id: next.rollout_id, reward_info: { score } } });
    expect(r.status).toBe(200);
    return r.body.job_status as string;
  }

  /** Scheduled rollouts until the job is no longer running (2,000 at most): its status then, and how many it took. */
  async function rolloutUntilEnded(sessionId: string): Promise<{ status: string; rollouts: number }> {
    let rollouts = 0;
    let status = 'running';
    while (status === 'running' && rollouts < 2000) {
      status = await rollout(sessionId);
      rollouts++;
    }
    return { status, rollouts };
  }

  it('ends the job once the champion is identified and confirmed on val, far below max_rollouts; without the rule it runs on', async () => {
    const s = await newSession({ stop_when_identified: { epsilon: 0.01, delta: 0.05 } });
    const { status, rollouts } = await rolloutUntilEnded(s.session_id);
    expect(status).toBe('succeeded');
    expect(rollouts).toBeLessThan(2000);
    const job = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body;
    expect(job).toMatchObject({ served_candidate_id: s.winner, best_candidate_id: s.winner, best_score_source: 'val', best_score_n: VAL_SEEDS });
    // The end is among the job's last events (every reward adds one).
    const last = await t.server.store.listEvents(s.job_id, Math.max(0, (await t.server.store.getJob(s.job_id))!.eventSeq - 20), 100);
    const end = last.find((e) => e.eventType === 'mipro.job.status' && e.data.status === 'succeeded');
    expect(end?.data.reason).toMatch(new RegExp(`^stop_when_identified: ${s.winner} identified within 0.01 at confidence 0.95`));

    // The same world without the rule keeps running past that point (four clients at once: the
    // control only has to outlast the rule's count, not replay it one request at a time).
    const control = await newSession({});
    const lane = async (n: number) => {
      for (let i = 0; i < n; i++) expect(await rollout(control.session_id)).toBe('running');
    };
    await Promise.all(Array.from({ length: 4 }, () => lane(Math.ceil((rollouts + 20) / 4))));
  }, 300_000); // ~400 rollouts of three requests each: ~15 s alone, ten times that on a loaded CI machine

  it('ends the job when the champion identified is the baseline: the control is confirmed on val too', async () => {
    // The warm-start candidate is always wrong: the baseline (right on even seeds) leads, and with the
    // pool final it is identified; the scheduler must give it the val seeds its confirmation needs.
    const s = await newSession({ stop_when_identified: { epsilon: 0.01, delta: 0.05 } }, 'Be TERRIBLE at answering.');
    const { status } = await rolloutUntilEnded(s.session_id);
    expect(status).toBe('succeeded');
    const job = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body;
    expect(job).toMatchObject({ served_candidate_id: 'baseline', best_candidate_id: 'baseline', best_score_source: 'val', best_score_n: VAL_SEEDS });
    const events = await t.server.store.listEvents(s.job_id, 0, 100_000);
    expect(events.find((e) => e.eventType === 'mipro.job.status' && e.data.status === 'succeeded')?.data.reason).toMatch(/^stop_when_identified: baseline identified within 0.01/);
  }, 300_000);

  it('also ends the job when the proposer\'s spend cap, not the candidate cap, stops proposals', async () => {
    // Room for 3 candidates, but one proposer call in all (the dataset summary spends it): no proposal
    // can add a candidate once it is spent, so the pool is final with 2. (A larger online pool than
    // above: the intervals count seeds, and at the 3-candidate level 50 seeds cannot part the two.)
    const proposer = { mode: 'instruction_only', model: 'gpt-4o-mini', provider: 'openai', temperature: 0.7, max_tokens: 512, max_calls: 1 };
    const s = await newSession({ stop_when_identified: { epsilon: 0.01, delta: 0.05 }, online_proposer_max_candidates: 3, online_pool: { start: 1000, end: 2000 }, proposer });
    const { status } = await rolloutUntilEnded(s.session_id);
    const events = await t.server.store.listEvents(s.job_id, 0, 100_000);
    expect(status).toBe('succeeded');
    expect(events.some((e) => e.eventType === 'mipro.proposer.budget_exhausted')).toBe(true);
    expect(events.find((e) => e.eventType === 'mipro.job.status' && e.data.status === 'succeeded')?.data.reason).toMatch(new RegExp(`^stop_when_identified: ${s.winner} identified`));
    // One proposer call in all. Usually the dataset summary spends it and no candidate is added; on a
    // loaded machine the first proposal can come before three inputs are stored, so it skips the
    // summary and its own call adds one. Either way nothing is added after the budget is spent.
    const job = (await t.server.store.getJob(s.job_id))!;
    expect(job.usage.proposer.calls).toBe(1);
    const proposed = events.filter((e) => e.eventType === 'mipro.proposal.created').flatMap((e) => e.data.candidate_ids as string[]);
    expect(proposed.length).toBeLessThanOrEqual(1);
    expect(await t.server.store.listCandidates(s.job_id)).toHaveLength(2 + proposed.length);
  }, 300_000);

  it('waits for a proposal still running elsewhere when the spend cap, not the candidate cap, made the pool final', async () => {
    const proposer = { mode: 'instruction_only', model: 'gpt-4o-mini', provider: 'openai', temperature: 0.7, max_tokens: 512, max_calls: 1 };
    const s = await newSession({ stop_when_identified: { epsilon: 0.01, delta: 0.05 }, online_proposer_max_candidates: 3, online_pool: { start: 1000, end: 2000 }, proposer, online_proposer_min_rollouts: 100_000 });
    // Another instance's proposal: it holds the lease, and its call reached max_calls; it may still add a candidate.
    const store = t.server.store;
    const lease = await store.startProposal({ jobId: s.job_id, id: 'prop_elsewhere', parentId: 'baseline', module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 600_000).toISOString(), now: new Date().toISOString() });
    expect(lease).not.toBeNull();
    await store.addProposerUsage(s.job_id, { calls: 1, promptTokens: 10, completionTokens: 5, totalTokens: 15 });
    for (let i = 0; i < 400; i++) expect(await rollout(s.session_id)).toBe('running');
    const job = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body;
    expect(job).toMatchObject({ best_candidate_id: s.winner, best_score_source: 'val' }); // identified and confirmed: only the proposal holds it
    await store.finishProposal({ jobId: s.job_id, id: 'prop_elsewhere', status: 'failed', response: null, error: 'test', candidates: [], events: [] });
    let status = 'running';
    for (let i = 0; i < 50 && status === 'running'; i++) status = await rollout(s.session_id);
    expect(status).toBe('succeeded');
  }, 300_000);
});

/**
 * One instance whose cache of the job's candidates never expires during the test, as another
 * instance's cache can be up to a second old: a proposal elsewhere added a candidate the cache does
 * not know, so the rule must read the store before it stops.
 */
describe('the stop rule behind a stale candidate cache', () => {
  let t: TestServer;
  useFakeUpstreamServer({
    upstream: { reply: (req) => (systemPromptOf(req).includes('EXCELLENT') ? 'right' : lastUserMessageOf(req)) },
    start: { cacheTtlMs: 600_000 },
  }, (s) => ({ t } = s));

  it('does not stop on a pool another instance just grew', async () => {
    const proposer = { mode: 'instruction_only', model: 'gpt-4o-mini', provider: 'openai', temperature: 0.7, max_tokens: 512, max_calls: 1 };
    const body = seedJobBody({
      initialPrompt: BASELINE,
      mipro: {
        bootstrap_train_seeds: [0, 1, 2, 3], online_pool: { start: 1000, end: 2000 }, val_seeds: { start: 100, end: 100 + VAL_SEEDS },
        online_rollouts_per_candidate: 5, online_proposer_max_candidates: 3, max_rollouts: 5000, online_proposer_min_rollouts: 100_000,
        stop_when_identified: { epsilon: 0.01, delta: 0.05 }, proposer,
      },
    });
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } })).body as { session_id: string; job_id: string };
    expect((await api(t.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key: t.key, body: { instruction: 'Be EXCELLENT at answering.' } })).status).toBe(200);
    const rollout = async () => {
      const next = (await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: t.key })).body;
      const res = await fetch(next.chat_completions_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: `question seed=${next.seed}` }] }) });
      const text = ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
      const r = await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: next.rollout_id, reward_info: { score: text === 'right' || next.seed % 2 === 0 ? 1 : 0 } } });
      return r.body.job_status as string;
    };
    for (let i = 0; i < 30; i++) await rollout(); // the runtime (and its cache of 2 candidates) is built
    // Elsewhere: a proposal spent the budget and added a child this instance's cache does not know.
    const store = t.server.store;
    await store.startProposal({ jobId: s.job_id, id: 'prop_elsewhere', parentId: 'baseline', module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 600_000).toISOString(), now: new Date().toISOString() });
    await store.addProposerUsage(s.job_id, { calls: 1, promptTokens: 10, completionTokens: 5, totalTokens: 15 });
    await store.finishProposal({ jobId: s.job_id, id: 'prop_elsewhere', status: 'succeeded', response: null, error: null, events: [], candidates: [
      { id: 'cand_elsewhere', parentId: 'baseline', instruction: 'Answer, elsewhere.', module: 'main', instructions: { main: 'Answer, elsewhere.' }, tip: 'none', proposalId: 'prop_elsewhere' },
    ] });
    for (let i = 0; i < 400; i++) expect(await rollout()).toBe('running');
  }, 300_000);
});
