import { describe, expect, it } from 'vitest';
import { type FakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';
const MODULES = [
  { name: 'plan', template: 'Plan how to answer.' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];

/**
 * Proposals on a two-module program: each changes one module (the others copied from the parent),
 * and the proposer is grounded in that module's own calls and shown the program around it.
 */
describe('proposals on a multi-module program', () => {
  let policy: FakeUpstream;
  let proposer: FakeUpstream;
  let t: TestServer;
  let n = 0;
  let failPlan = false;
  useProposerServer({
    policy: { reply: (req) => `out(${systemPromptOf(req).slice(0, 12)})` },
    proposer: {
      reply: (req) => {
        const prompt = JSON.stringify(req.body);
        if (/describe these inputs/.test(prompt)) return 'Questions.';
        n++;
        const answer = prompt.includes('module \\"answer\\" (the one to improve');
        if (failPlan && !answer) return 'I cannot help with that.'; // no instruction in it: the proposal fails
        return answer
          ? JSON.stringify({ instructions: [`Answer v${n} using only:\n{context}`] })
          : JSON.stringify({ instructions: [`Plan v${n} step by step.`] });
      },
    },
    start: { cacheTtlMs: 20 },
  }, (s) => ({ policy, proposer, t } = s));

  it('changes one module per proposal, grounded in that module\'s calls, and renders the new program', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url,
      mipro: { online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 3 },
    });
    Object.assign(body.policy_optimization, { modules: MODULES });
    (body.policy_optimization.mipro.proposer as Record<string, unknown>).instructions_per_batch = 1;
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const rollout = async (i: number) => {
      const base = `${job.proxy_url}/r${i}/chat/completions`;
      await api(base, 'POST', '', { body: { model: 'x', messages: [{ role: 'system', content: MODULES[0]!.template }, { role: 'user', content: `PLAN-INPUT-${i}` }] } });
      await api(base, 'POST', '', { body: { model: 'x', messages: [{ role: 'system', content: `Answer from this context:\nCTX-${i}` }, { role: 'user', content: `ANSWER-INPUT-${i}` }] } });
      await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, [`r${i}`])).length === 2);
      // One reward for all: no module's changes move it (the first round tries each module once anyway).
      await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `r${i}`, reward_info: { score: 0.5 } } });
    };
    let i = 0;
    const proposals = async () => (await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body;
    while (i < 60) {
      await rollout(i++);
      const done = (await proposals()).items?.filter((p: { status: string }) => p.status === 'succeeded') ?? [];
      if (done.length >= 2) break;
    }
    const items = ((await proposals()).items as { module: string; status: string; prompt: { content: string }[]; candidate_ids: string[] }[])
      .filter((p) => p.status === 'succeeded');
    expect(items.map((p) => p.module).sort()).toEqual(['answer', 'plan']); // one proposal per module
    const promptOf = (module: string) => items.find((p) => p.module === module)!.prompt.map((m) => m.content).join('\n');
    const [planPrompt, answerPrompt] = [promptOf('plan'), promptOf('answer')];
    expect(planPrompt).toMatch(/PLAN-INPUT-/);
    expect(planPrompt).not.toMatch(/ANSWER-INPUT-/);
    expect(answerPrompt).toMatch(/ANSWER-INPUT-/);
    expect(answerPrompt).toMatch(/\{context\} = CTX-/);
    expect(answerPrompt).not.toMatch(/PLAN-INPUT-/);
    expect(answerPrompt).toMatch(/The program around it/);
    expect(answerPrompt).toMatch(/Keep these placeholders exactly as written, braces included: \{context\}/);

    const view = (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    const answerChild = view.candidates.find((c: { module: string }) => c.module === 'answer');
    expect(answerChild.instructions.plan).toBe(view.candidates.find((c: { candidate_id: string }) => c.candidate_id === answerChild.parent_id).instructions.plan);
    expect(answerChild.instructions.answer).toMatch(/^Answer v\d+ using only:\n\{context\}$/);

    // The new program is what the proxy renders for a rollout it serves.
    for (let k = 0; k < 60; k++) {
      const res = await api(`${job.proxy_url}/probe${k}/chat/completions`, 'POST', '', {
        body: { model: 'x', messages: [{ role: 'system', content: 'Answer from this context:\nPROBE' }, { role: 'user', content: 'q' }] },
      });
      if (res.headers.get('x-mipro-candidate-id') !== answerChild.candidate_id) continue;
      expect(systemPromptOf(policy.requests.at(-1)!)).toBe(answerChild.instructions.answer.replace('{context}', 'PROBE'));
      return;
    }
    throw new Error('the answer-module child never served a rollout');
  });
  it('counts a failed proposal as a try: a module whose proposals fail does not take every proposal', async () => {
    failPlan = true;
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url,
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 4 },
    });
    Object.assign(body.policy_optimization, { modules: MODULES });
    (body.policy_optimization.mipro.proposer as Record<string, unknown>).instructions_per_batch = 1;
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body })).body as { job_id: string; system_id: string; proxy_url: string };
    const proposals = async () => ((await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body.items ?? []) as { module: string; status: string }[];
    for (let i = 0; i < 60; i++) {
      const base = `${job.proxy_url}/f${i}/chat/completions`;
      await api(base, 'POST', '', { body: { model: 'x', messages: [{ role: 'system', content: MODULES[0]!.template }, { role: 'user', content: 'q' }] } });
      await api(base, 'POST', '', { body: { model: 'x', messages: [{ role: 'system', content: 'Answer from this context:\nC' }, { role: 'user', content: 'q' }] } });
      await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, [`f${i}`])).length === 2);
      await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `f${i}`, reward_info: { score: 0.5 } } });
      if ((await proposals()).some((p) => p.module === 'answer' && p.status === 'succeeded')) break;
    }
    const items = (await proposals()).reverse(); // oldest first
    // plan comes first in call order and fails; it counts as tried, so answer gets the next proposal.
    expect(items[0]).toMatchObject({ module: 'plan', status: 'failed' });
    expect(items.find((p) => p.status === 'succeeded')).toMatchObject({ module: 'answer' });
    expect(items.findIndex((p) => p.module === 'answer')).toBe(1);
  });
});
