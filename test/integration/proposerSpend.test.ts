import { describe, expect, it } from 'vitest';
import { oneInstructionProposer, useProposerServer } from '../helpers/proposerServer.js';
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
  const s = useProposerServer({ db, policy: { reply: 'label' }, proposer: oneInstructionProposer(() => `Classify carefully, version ${++n}.`), start: { cacheTtlMs: 20 } });

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
      if (i % 3 === 2) await s.t.server.settled(); // a triggered proposal finishes
    }
    await s.t.server.settled();
    const events = (await api(s.t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=1000`, { key: s.t.key })).body.events as { event_type: string; data: Record<string, unknown> }[];
    const view = (await api(s.t.url, 'GET', `${JOBS}/${job.job_id}`, { key: s.t.key })).body;
    return { calls: s.proposer.requests.length - before, events, view };
  }

  it('max_calls: the dataset summary and one proposal use the two calls, then proposals stop with one event', async () => {
    const { calls, events, view } = await runJob({ max_calls: 2 });
    expect(calls).toBe(2);
    expect(view.usage.proposer.calls).toBe(2);
    expect(view.candidate_count).toBe(2); // the baseline and the one proposal's child
    // The view says why no proposal follows (the candidate cap, 20, is far).
    expect(view.proposals_stopped).toMatchObject({ reason: 'max_calls', limit: 2 });
    expect(view.proposals_stopped.message).toMatch(/mipro\.proposer\.max_calls \(2\): 2 calls/);
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

  it('max_calls: 1 holds when a refresh that read the job before the summary call was counted lands after it', async () => {
    // The race, step by step (wrappers of store methods order it; no timing decides it):
    // 1. the first proposal asks for the dataset summary; just before (sampleInputs), a proxy GET
    //    /models finds the cache stale and its refresh reads the job row: 0 proposer calls, no summary;
    // 2. that read is held until the summary call's usage was added (recordProposerCall put calls: 1
    //    into the cache) and the budget event written: setDatasetSummary releases it and waits for
    //    the GET, so the refresh has replaced the cached job with the row read in 1;
    // 3. the proposal then checks the cap. On the cached job (the old check) it saw 0 calls and made
    //    its own call: 2 calls with max_calls 1. Read from the store, it sees 1 and makes none.
    const store = s.t.server.store;
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: s.proposer.url,
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 20 },
      initialPrompt: SYSTEM,
    });
    Object.assign(body.policy_optimization.mipro.proposer, { instructions_per_batch: 1, max_calls: 1 });
    const created = await api(s.t.url, 'POST', JOBS, { key: s.t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const before = s.proposer.requests.length;

    const original = { getJob: store.getJob, sampleInputs: store.sampleInputs, setDatasetSummary: store.setDatasetSummary, startProposal: store.startProposal };
    const deferred = <T = void>() => {
      let resolve!: (v: T) => void;
      const promise = new Promise<T>((r) => { resolve = r; });
      return { promise, resolve };
    };
    const started = deferred(); // the first proposal took its lease
    const staleRead = deferred(); // the refresh's getJob has read the row (before the summary's usage)
    const release = deferred(); // the summary's usage is stored: the held read may return
    const asking = deferred(); // the proposal is about to ask for the summary, and the read is held
    let armed = false;
    let models: ReturnType<typeof api> | null = null; // the proxy's GET /models whose lookup refreshes the cache
    store.startProposal = async (p) => {
      const lease = await original.startProposal.call(store, p);
      if (p.jobId === job.job_id) started.resolve();
      return lease;
    };
    store.getJob = async (id) => {
      const row = await original.getJob.call(store, id);
      if (!armed || id !== job.job_id) return row;
      armed = false;
      staleRead.resolve();
      await release.promise;
      return row;
    };
    store.sampleInputs = async (jobId, limit) => {
      const inputs = await original.sampleInputs.call(store, jobId, limit);
      if (jobId !== job.job_id || models) return inputs;
      await new Promise((r) => setTimeout(r, 50)); // past cacheTtlMs (20): the GET's lookup refreshes
      armed = true;
      models = api(job.proxy_url, 'GET', '/models');
      await staleRead.promise;
      asking.resolve();
      return inputs;
    };
    store.setDatasetSummary = async (jobId, summary) => {
      if (jobId === job.job_id && models) {
        release.resolve();
        await models; // its refresh has put the row read before the summary's usage into the cache
      }
      return original.setDatasetSummary.call(store, jobId, summary);
    };
    try {
      for (let i = 0; i < 10; i++) {
        await api(`${job.proxy_url}/r${i}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `q${i}` }] } });
        await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: s.t.key, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } });
        // No more traffic once the proposal runs: only the GET above may touch the cache.
        if (await Promise.race([started.promise.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))])) break;
      }
      await started.promise;
      await asking.promise;
      expect((await models!).status).toBe(200);
      // The proposal ends (failed, naming the cap, or succeeded after an over-cap call).
      await s.t.server.settled();
      const [proposal] = await store.listProposals(job.job_id, 1);
      const stored = (await original.getJob.call(store, job.job_id))!;
      expect({ calls: s.proposer.requests.length - before, stored: stored.usage.proposer.calls }).toEqual({ calls: 1, stored: 1 });
      expect(proposal).toMatchObject({ status: 'failed' });
      expect(proposal?.error).toMatch(/dataset summary reached the proposer's max_calls/);
    } finally {
      release.resolve(); // never leave a request held
      // The wrappers are the store's own properties; its methods are its class's.
      for (const name of Object.keys(original)) delete (store as unknown as Record<string, unknown>)[name];
    }
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
