import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';
import { normalizeInstruction } from '../../src/optimizer/core/text.js';
import type { Store } from '../../src/store/types.js';

const JOBS = '/api/policy-optimization/online/jobs';
const PROMPT = 'Answer the question.';
/** What the proposer answers, and what the user warm-starts while the proposal runs. */
const SAME_TEXT = 'Answer the question like a seasoned expert.';

/**
 * A warm start that lands while a proposal runs, after the proposal checked its texts against the
 * candidates it had read: the proposal must not add the same text again. The slow proposer keeps
 * the proposal running; the warm start is sent right when the proposal finishes (the narrowest
 * window: its duplicate check already done), and committed before the proposal's own write.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('a warm start committed while a proposal runs (%s)', (db) => {
  let proposer: FakeUpstream;
  let t: TestServer;
  useProposerServer({
    db,
    policy: { reply: 'ok' },
    proposer: {
      delayMs: 200,
      reply: (req) => (/describe these inputs/.test(JSON.stringify(req.body)) ? 'Questions.' : JSON.stringify({ instructions: [SAME_TEXT] })),
    },
  }, (s) => ({ proposer, t } = s));

  /**
   * Runs `drive` (the calls and rewards that start a proposal) with `candidate` warm-started as the
   * proposal begins its write (after its own duplicate check), then waits until no proposal of the job
   * runs. The warm start's answer, or undefined when no proposal of the job reached its write.
   */
  async function warmStartAsProposalWrites(jobId: string, systemId: string, candidate: object, drive: () => Promise<void>): Promise<{ status: number; body: any } | undefined> {
    const store: Store = t.server.store;
    const finish = store.finishProposal.bind(store);
    let warm: Promise<{ status: number; body: any }> | undefined;
    store.finishProposal = async (p) => {
      if (p.jobId === jobId) {
        warm ??= api(t.url, 'POST', `/api/systems/${systemId}/candidates`, { key: t.key, body: candidate });
        await warm;
      }
      return finish(p);
    };
    try {
      await drive();
      await waitFor(async () => {
        const proposals = await store.listProposals(jobId, 5);
        return proposals.length > 0 && proposals.every((p) => p.status !== 'running');
      }, 10_000);
    } finally {
      store.finishProposal = finish;
    }
    return warm;
  }

  it('the proposal sees it under the job\'s lock: no second candidate with the same text', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url, initialPrompt: PROMPT,
      mipro: { online_proposer_min_rollouts: 2, online_rollouts_per_candidate: 1, proposer: { mode: 'instruction_only', model: 'fake-proposer', provider: 'openai_compatible', inference_url: proposer.url, instructions_per_batch: 1 } },
    });
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const store: Store = t.server.store;
    const warm = await warmStartAsProposalWrites(job.job_id, job.system_id, { instruction: SAME_TEXT }, async () => {
      for (let i = 0; i < 3; i++) {
        expect((await api(`${job.proxy_url}/r${i}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: `q${i}` }] } })).status).toBe(200);
        await waitFor(async () => (await store.rolloutCalls(job.job_id, [`r${i}`])).length === 1);
        expect((await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `r${i}`, reward_info: { score: 1 } } })).status).toBe(200);
      }
    });
    expect(warm?.status).toBe(200);
    const texts = (await store.listCandidates(job.job_id)).map((c) => normalizeInstruction(c.instructions.main ?? ''));
    expect(texts.filter((x) => x === normalizeInstruction(SAME_TEXT))).toHaveLength(1);
    const [proposal] = await store.listProposals(job.job_id, 1);
    expect(proposal).toMatchObject({ status: 'failed', candidateIds: [] });
    expect(proposal?.error).toMatch(/^no usable instruction: duplicate of an existing instruction/);
  });

  it('a demo-set proposal sees a warm start of the same demo set the same way', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url, initialPrompt: PROMPT,
      mipro: {
        online_proposer_min_rollouts: 1, online_rollouts_per_candidate: 1, max_demos: 1, demo_min_reward: 1,
        proposer: { mode: 'demos_only', model: 'fake-proposer', provider: 'openai_compatible', inference_url: proposer.url, instructions_per_batch: 1 },
      },
    });
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const store: Store = t.server.store;
    // The one demo the pool will hold: the call below, answered 'ok' by the policy.
    const demo = { input: [{ role: 'user', content: 'Q-demo' }], output: 'ok' };
    const warm = await warmStartAsProposalWrites(job.job_id, job.system_id, { demos: { main: [demo] } }, async () => {
      expect((await api(`${job.proxy_url}/d0`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: 'Q-demo' }] } })).status).toBe(200);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, ['d0'])).length === 1);
      expect((await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: 'd0', reward_info: { score: 1 } } })).status).toBe(200);
    });
    expect(warm?.status).toBe(200);
    const sets = (await store.listCandidates(job.job_id)).map((c) => JSON.stringify((c.demos.main ?? []).map((d) => [d.input, d.output])));
    expect(sets.filter((x) => x === JSON.stringify([[demo.input, demo.output]]))).toHaveLength(1);
    const [proposal] = await store.listProposals(job.job_id, 1);
    expect(proposal).toMatchObject({ status: 'failed', candidateIds: [], error: 'no new demo set: the set for module main was added meanwhile (a warm start)' });
  });
});
