import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { BASELINE_ID, newProposalId } from '../../src/shared/ids.js';
import type { Store } from '../../src/store/types.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'route', template: 'Route the question about {topic} to a team.' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];

/**
 * Module choice's first round ("every module is tried once, in call order") on several instances.
 * One instance decides which module to change while another instance's proposal is still running;
 * when that proposal then fails (a refused answer, a timeout), it leaves no child and frees the lease
 * without moving the decision's basis (proposal seq, candidate count), so the decision stands. It
 * must have counted the running proposal as its module's try: otherwise the first round gave the
 * same module two proposals before the next module had one (seen in a three-instance run: extract,
 * route (failed), route (failed), answer). The other instance is played by the store itself, its
 * proposal failing right after this instance read the tries.
 */
describe('the first round of module choice across instances', () => {
  let proposer: FakeUpstream;
  let t: TestServer;

  useProposerServer({
    policy: { reply: 'ok' },
    proposer: {
      reply: (req) => {
        const prompt = JSON.stringify(req.body);
        if (/describe these inputs/.test(prompt)) return 'Questions.';
        if (prompt.includes('module \\"answer\\" (the one to improve')) return JSON.stringify({ instructions: ['Answer using only:\n{context}'] });
        if (prompt.includes('module \\"route\\" (the one to improve')) return JSON.stringify({ instructions: ['Route the question about {topic} to one team.'] });
        return JSON.stringify({ instructions: ['Extract every entity.'] });
      },
    },
  }, (s) => ({ proposer, t } = s));

  it('counts a proposal still running on another instance as its module\'s try', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url,
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 8 },
    });
    Object.assign(body.policy_optimization, { modules: MODULES });
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } })).body as { session_id: string; job_id: string };
    const proxy = `${t.url}/api/mipro/v1/${s.session_id}`;
    const store = t.server.store;
    // "Another instance" proposes for the first module in call order ...
    const other = await store.startProposal({ jobId: s.job_id, id: newProposalId(), parentId: BASELINE_ID, module: 'extract', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
    expect(other).not.toBeNull();
    // ... and its proposal fails right after this instance read each module's tries.
    const tries = store.proposalTriesByModule.bind(store);
    let armed = true;
    (store as { proposalTriesByModule: Store['proposalTriesByModule'] }).proposalTriesByModule = async (jobId, prefix) => {
      const read = await tries(jobId, prefix);
      if (armed) {
        armed = false;
        await store.finishProposal({ jobId: s.job_id, id: other!.id, status: 'failed', response: null, error: 'no usable instruction: the answer held none', candidates: [], events: [] });
      }
      return read;
    };
    try {
      for (let i = 0; i < 3; i++) {
        const rid = `r${i}`;
        const calls = [MODULES[0]!.template, `Route the question about billing ${i} to a team.`, `Answer from this context:\nctx ${i}`];
        for (const system of calls) {
          const res = await api(proxy, 'POST', `/${rid}/chat/completions`, { body: { messages: [{ role: 'system', content: system }, { role: 'user', content: 'q' }] } });
          expect(res.status).toBe(200);
        }
        expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: rid, reward_info: { score: i % 2 } } })).status).toBe(200);
      }
      await t.server.settled();
    } finally {
      delete (store as { proposalTriesByModule?: unknown }).proposalTriesByModule; // the class's own method again
    }
    expect(armed).toBe(false); // this instance did decide while the other proposal ran
    const proposals = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: t.key })).body.items as Array<{ seq: number; module: string; status: string }>;
    // Oldest first: the other instance's failed try of extract, then this instance's proposal for the next module.
    expect(proposals.map((p) => [p.seq, p.module, p.status]).reverse()).toEqual([[1, 'extract', 'failed'], [2, 'route', 'succeeded']]);
  });
});
