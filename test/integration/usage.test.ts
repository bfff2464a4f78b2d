import { describe, expect, it } from 'vitest';
import { oneInstructionProposer, useProposerServer } from '../helpers/proposerServer.js';
import { waitFor } from '../helpers/waitFor.js';
import { type TestDb, api, seedJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SYSTEM = 'Classify the question.';

interface UsageView { prompt_tokens: number; completion_tokens: number; total_tokens: number; calls: number }
interface JobUsageView { policy: UsageView; proposer: UsageView }

/**
 * `usage` in job views (SPEC.md, "After a job ends"): the policy's and the proposer's token counts as
 * the providers reported them, streamed answers included, summed on the jobs row. Two fake upstreams
 * with different counts tell the two sides apart. On SQLite and PostgreSQL.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('usage in job views (%s)', (db) => {
  const s = useProposerServer({ db, policy: { reply: 'label' }, proposer: oneInstructionProposer(() => 'Classify the question carefully.'), start: { cacheTtlMs: 20 } });

  const usageOf = async (jobId: string) => (await api(s.t.url, 'GET', `${JOBS}/${jobId}`, { key: s.t.key })).body.usage as JobUsageView;

  it('sums the policy calls (JSON and streamed) and the proposer calls (dataset summary and proposal) separately', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: s.proposer.url,
      mipro: { online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 2 },
      initialPrompt: SYSTEM,
    });
    (body.policy_optimization.mipro.proposer as Record<string, unknown>).instructions_per_batch = 1;
    const created = await api(s.t.url, 'POST', JOBS, { key: s.t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    expect(await usageOf(job.job_id)).toEqual({
      policy: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, calls: 0 },
      proposer: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, calls: 0 },
    });

    const messages = (i: number) => [{ role: 'system', content: SYSTEM }, { role: 'user', content: `question ${i}` }];
    // Two JSON answers, two streams that carry a usage chunk, one stream without one (a call, no tokens).
    const calls = [
      { stream: false }, { stream: false },
      { stream: true, stream_options: { include_usage: true } }, { stream: true, stream_options: { include_usage: true } },
      { stream: true },
    ];
    for (const [i, extra] of calls.entries()) {
      const res = await fetch(`${job.proxy_url}/r${i}/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', messages: messages(i), ...extra }),
      });
      expect(res.status).toBe(200);
      await res.text();
    }
    await waitFor(async () => (await usageOf(job.job_id)).policy.calls === 5);
    expect((await usageOf(job.job_id)).policy).toEqual({ prompt_tokens: 48, completion_tokens: 28, total_tokens: 76, calls: 5 });

    for (let i = 0; i < 4; i++) {
      const r = await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: s.t.key, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } });
      expect(r.status).toBe(200);
    }
    await waitFor(async () => (await api(s.t.url, 'GET', `${JOBS}/${job.job_id}`, { key: s.t.key })).body.candidate_count === 2);
    // Dataset summary + one proposal: both are the proposer's, none the policy's.
    const after = await usageOf(job.job_id);
    expect(after.proposer).toEqual({ prompt_tokens: 600, completion_tokens: 80, total_tokens: 680, calls: 2 });
    expect(after.policy.calls).toBe(5);
    expect(s.proposer.requests).toHaveLength(2);

    // Durable: the counters are on the jobs row, as a fresh read of the store sees them.
    const stored = await s.t.server.store.getJob(job.job_id);
    expect(stored?.usage.proposer.totalTokens).toBe(680);
    expect(stored?.usage.policy.totalTokens).toBe(76);
  });
});
