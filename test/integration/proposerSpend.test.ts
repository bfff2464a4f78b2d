import { describe, expect, it } from 'vitest';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestDb, api, seedJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SYSTEM = 'Classify the question.';

/**
 * The proposer's spend caps (`mipro.proposer.max_calls`, `max_total_tokens`): once reached, no more
 * proposals, and one `mipro.proposer.budget_exhausted` event names the cap. The dataset-summary call
 * counts as a proposer call. On SQLite and PostgreSQL.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('proposer spend caps (%s)', (db) => {
  let n = 0;
  const s = useProposerServer(db, () => `Classify carefully, version ${++n}.`);

  async function runJob(caps: Record<string, number>) {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: s.proposer.url,
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 20 },
      initialPrompt: SYSTEM,
    });
    Object.assign(body.policy_optimization.mipro.proposer, { instructions_per_batch: 1, ...caps });
    const created = await api(s.t.url, 'POST', JOBS, { key: s.t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const before = s.proposer.requests.length;
    // Enough rewards for many proposals: the caps, not the trigger, must be what stops them.
    for (let i = 0; i < 30; i++) {
      await api(`${job.proxy_url}/r${i}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `q${i}` }] } });
      await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: s.t.key, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } });
      if (i % 3 === 2) await new Promise((r) => setTimeout(r, 40)); // let a triggered proposal finish
    }
    await new Promise((r) => setTimeout(r, 200));
    const events = (await api(s.t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=1000`, { key: s.t.key })).body.events as { event_type: string; data: Record<string, unknown> }[];
    const view = (await api(s.t.url, 'GET', `${JOBS}/${job.job_id}`, { key: s.t.key })).body;
    return { calls: s.proposer.requests.length - before, events, view };
  }

  it('max_calls: the dataset summary and one proposal use the two calls, then proposals stop with one event', async () => {
    const { calls, events, view } = await runJob({ max_calls: 2 });
    expect(calls).toBe(2);
    expect(view.usage.proposer.calls).toBe(2);
    expect(view.candidate_count).toBe(2); // the baseline and the one proposal's child
    const exhausted = events.filter((e) => e.event_type === 'mipro.proposer.budget_exhausted');
    expect(exhausted).toHaveLength(1);
    expect(exhausted[0]?.data).toMatchObject({ cap: 'max_calls', limit: 2, calls: 2 });
    expect(events.filter((e) => e.event_type === 'mipro.proposal.created')).toHaveLength(1);
  });

  it('max_calls: 1: the dataset summary uses it, and the proposal it was for is recorded as failed, naming the cap', async () => {
    const { calls, events, view } = await runJob({ max_calls: 1 });
    expect(calls).toBe(1);
    expect(view.candidate_count).toBe(1);
    const failed = events.filter((e) => e.event_type === 'mipro.proposal.failed');
    expect(failed).toHaveLength(1);
    expect(String(failed[0]?.data.error)).toMatch(/dataset summary reached the proposer's max_calls/);
    expect(events.filter((e) => e.event_type === 'mipro.proposer.budget_exhausted')).toHaveLength(1);
  });

  it('max_total_tokens: the call that reaches it is the last one', async () => {
    // 340 tokens per call: the summary (340) stays under 500, the first proposal (680) reaches it.
    const { calls, events, view } = await runJob({ max_total_tokens: 500 });
    expect(calls).toBe(2);
    expect(view.usage.proposer.total_tokens).toBe(680);
    const exhausted = events.filter((e) => e.event_type === 'mipro.proposer.budget_exhausted');
    expect(exhausted).toHaveLength(1);
    expect(exhausted[0]?.data).toMatchObject({ cap: 'max_total_tokens', limit: 500, total_tokens: 680 });
  });

  it('without caps the same traffic makes more proposals (the control for the two above)', async () => {
    const { calls } = await runJob({});
    expect(calls).toBeGreaterThan(3);
  });

  it('refuses a cap that is not a positive integer, naming the field', async () => {
    const body = seedJobBody();
    Object.assign(body.policy_optimization.mipro.proposer, { max_calls: 0, max_total_tokens: 1.5 });
    const res = await api(s.t.url, 'POST', JOBS, { key: s.t.key, body });
    expect(res.status).toBe(422);
    const paths = (res.body.error.details as { path: string }[]).map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['policy_optimization.mipro.proposer.max_calls', 'policy_optimization.mipro.proposer.max_total_tokens']));
  });
});
