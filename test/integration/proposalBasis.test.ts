import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { BASELINE_ID, newProposalId } from '../../src/shared/ids.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';

/**
 * On several instances, the engine decides to propose on its cache, which may not hold what another
 * instance did a moment ago. The runner decides again on state it has just read and takes the lease
 * only on that state (Store.startProposal `basis`). The other instance is played here by the store
 * itself, behind a cache that never expires on its own.
 */
describe('a proposal decided on a stale cache', () => {
  let proposer: FakeUpstream;
  let t: TestServer;
  let proposerCalls = 0;
  let summaryCalls = 0;

  useProposerServer({
    policy: { reply: 'ok' },
    proposer: {
      reply: (req) => {
        // The dataset-summary call is not a proposal.
        if (/describe these inputs|describe datasets|summar/i.test(JSON.stringify(req.body))) {
          summaryCalls++;
          return 'Short questions.';
        }
        proposerCalls++;
        return JSON.stringify({ instructions: [`Proposal ${proposerCalls}.`] });
      },
    },
    start: { cacheTtlMs: 600_000 },
  }, (s) => ({ proposer, t } = s));

  async function newSession() {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url, initialPrompt: 'Answer.',
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 4, bootstrap_train_seeds: [0], online_pool: { start: 0, end: 50 }, val_seeds: [100] },
    });
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } })).body as { session_id: string; job_id: string };
    const rollout = async () => {
      const next = (await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/rollouts`, { key: t.key })).body;
      await fetch(next.chat_completions_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: `q ${next.seed}` }] }) });
      expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: next.rollout_id, reward_info: { score: 1 } } })).status).toBe(200);
    };
    return { s, rollout };
  }

  it('asks the proposer nothing, not even the dataset summary, while another instance holds the lease', async () => {
    const { s, rollout } = await newSession();
    const store = t.server.store;
    // "Another instance" holds the job's proposal lease (its proposer call is under way) ...
    const lease = await store.startProposal({ jobId: s.job_id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
    expect(lease).not.toBeNull();
    const before = { proposerCalls, summaryCalls };
    // ... while this instance collects enough rewards to propose, with no dataset summary stored yet.
    for (let i = 0; i < 6; i++) await rollout();
    await t.server.settled(); // the proposals those rewards started have ended
    expect({ proposerCalls, summaryCalls }).toEqual(before);
    await store.finishProposal({ jobId: s.job_id, id: lease!.id, status: 'failed', response: null, error: 'test', events: [], candidates: [] });
    // The control: once the lease is free, the next trigger asks for the summary and the proposal.
    for (let i = 0; i < 3; i++) await rollout();
    await t.server.settled();
    expect({ proposerCalls: proposerCalls - before.proposerCalls, summaryCalls: summaryCalls - before.summaryCalls }).toEqual({ proposerCalls: 1, summaryCalls: 1 });
    const proposals = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: t.key })).body.items as Array<{ status: string; prompt: Array<{ content: string }> }>;
    // The prompt built under the lease is the one stored, dataset summary included.
    const mine = proposals.find((p) => p.status !== 'failed');
    expect(JSON.stringify(mine?.prompt)).toContain('Short questions.');
  });

  it('is not made when another instance proposed meanwhile: its child has no rewards yet', async () => {
    const { s, rollout } = await newSession();
    const callsBefore = proposerCalls;
    // "Another instance" starts a proposal (the rewards-since-proposal counter is reset) ...
    const store = t.server.store;
    const lease = await store.startProposal({ jobId: s.job_id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
    // ... this instance gets enough rewards meanwhile (a proposal of its own finds the lease taken) ...
    for (let i = 0; i < 3; i++) await rollout();
    // ... the other one finishes with a child this instance's cache has not read ...
    await store.finishProposal({ jobId: s.job_id, id: lease!.id, status: 'succeeded', response: null, error: null, events: [],
      candidates: [{ id: 'cand_other', parentId: BASELINE_ID, instruction: 'Answer, elsewhere.', module: 'main', instructions: { main: 'Answer, elsewhere.' }, tip: null, proposalId: lease!.id }] });
    // ... and the next reward here: the counter says propose, the cache knows no unmeasured child.
    await rollout();
    await t.server.settled();
    expect(proposerCalls).toBe(callsBefore);
    const proposals = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: t.key })).body.items as unknown[];
    expect(proposals).toHaveLength(1); // the other instance's only
  });

  it('adds no candidate to a job that was cancelled while its proposer call ran', async () => {
    // The proposal call is answered only once the job was cancelled (a delay could run out first on a busy machine).
    let cancelled!: () => void;
    const afterCancel = new Promise<void>((r) => { cancelled = r; });
    proposer.setBehavior({
      reply: () => JSON.stringify({ instructions: ['Too late.'] }),
      holdUntil: (req) => (/describe these inputs|describe datasets|summar/i.test(JSON.stringify(req.body)) ? undefined : afterCancel),
    });
    try {
      const { s, rollout } = await newSession();
      for (let i = 0; i < 3; i++) await rollout();
      const proposals = async () => (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: t.key })).body.items as Array<{ status: string; error: string | null; prompt: unknown[] }>;
      const until = async (check: (ps: Awaited<ReturnType<typeof proposals>>) => boolean) => {
        const end = Date.now() + 15_000;
        while (!check(await proposals()) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      };
      await until((ps) => ps.some((p) => p.status === 'running' && p.prompt.length > 0)); // the proposer call is under way
      // The prompt shows while the call runs, and stays on the failed proposal.
      expect((await proposals())[0]?.prompt).toHaveLength(2);
      expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/cancel`, { key: t.key })).status).toBe(200);
      cancelled();
      await t.server.settled(); // the runner has had the proposer's answer and ended
      await until((ps) => ps.length > 0 && ps.every((p) => p.status !== 'running'));
      expect(await proposals()).toMatchObject([{ status: 'failed', error: expect.stringMatching(/cancelled while the proposal ran/), prompt: [{ role: 'system' }, { role: 'user' }] }]);
      const view = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body;
      expect(view.candidates).toHaveLength(1);
    } finally {
      cancelled();
      proposer.setBehavior({ reply: 'unused' });
    }
  });
});
