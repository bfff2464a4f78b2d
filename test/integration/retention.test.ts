import { describe, expect, it } from 'vitest';
import type { RolloutRecord } from '../../src/store/types.js';
import { newProposalId } from '../../src/shared/ids.js';
import { api, pipelineJobBody, simJobBody } from '../helpers/server.js';
import { DAY_MS, useRetentionServer } from '../helpers/retentionServer.js';

/**
 * Issue 14, item 3 (retention): with RETENTION_DAYS, call inputs and outputs older than that are
 * cleared; rollouts, rewards and statistics are kept. Time is moved with the server's clock.
 */
const SESSIONS = '/api/v1/online/sessions';

describe.each(['sqlite', 'postgres'] as const)('RETENTION_DAYS on %s', (db) => {
  const srv = useRetentionServer(db);

  async function rollout(jobId: string, id: string): Promise<RolloutRecord> {
    const r = await srv.t.server.store.getRollout(jobId, id);
    if (!r) throw new Error(`no rollout ${id}`);
    return r;
  }
  async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    for (let i = 0; i < 200; i++) {
      const v = await read();
      if (ok(v)) return v;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('clears old call text and keeps rollouts, rewards and statistics', async () => {
    const s = (await api(srv.t.url, 'POST', SESSIONS, { key: srv.t.key, body: { config_body: simJobBody({}, 'Classify the query.') } })).body;
    for (const id of ['old-1', 'old-2']) {
      const call = await api(s.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: `lost card ${id}` }] } });
      expect(call.status).toBe(200);
      expect((await api(srv.t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: srv.t.key, body: { rollout_id: id, reward_info: { score: 1, feedback: `FB ${id}`, feedback_by_module: { main: 'fine' } } } })).status).toBe(200);
    }
    const before = await until('the call records', () => rollout(s.job_id, 'old-2'), (r) => r.outputText !== null);
    expect(before.inputMessages).not.toBeNull();
    // A day is not yet over: nothing is cleared.
    await new Promise((r) => setTimeout(r, 200));
    expect((await rollout(s.job_id, 'old-1')).outputText).not.toBeNull();

    srv.setClockOffset(2 * DAY_MS);
    const fresh = await api(s.proxy_url, 'POST', '/fresh/chat/completions', { body: { messages: [{ role: 'user', content: 'new call' }] } });
    expect(fresh.status).toBe(200);
    for (const id of ['old-1', 'old-2']) {
      const r = await until(`retention of ${id}`, () => rollout(s.job_id, id), (x) => x.outputText === null && x.inputMessages === null);
      expect(r).toMatchObject({ status: 'completed', reward: 1, candidateId: 'baseline', callCount: 1 });
      // Each call's own record is cleared too; its module stays.
      const calls = await until(`retention of ${id}'s calls`, () => srv.t.server.store.rolloutCalls(s.job_id, [id]), (c) => c[0]?.outputText === null);
      expect(calls).toMatchObject([{ seq: 1, module: 'main', inputMessages: null, outputText: null, variables: null }]);
    }
    // The feedback texts about those calls go too; the scores stay.
    const feedbackGone = await until('retention of feedback', () => srv.t.server.store.listRewards(s.job_id, { limit: 10 }),
      (p) => p.items.every((r) => r.feedback === null && r.feedbackByModule === null));
    expect(feedbackGone.items.map((r) => r.reward)).toEqual([1, 1]);
    const kept = await until('the fresh call record', () => rollout(s.job_id, 'fresh'), (r) => r.outputText !== null);
    expect(kept.inputMessages).not.toBeNull();

    const rewards = await api(srv.t.url, 'GET', `${SESSIONS}/${s.session_id}/rewards`, { key: srv.t.key });
    expect(rewards.body.items.map((r: { rollout_id: string }) => r.rollout_id).sort()).toEqual(['old-1', 'old-2']);
    const status = await api(srv.t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: srv.t.key });
    expect(status.body).toMatchObject({ reward_count: 2, rollout_count: 3 });
    expect(status.body.candidates[0]).toMatchObject({ candidate_id: 'baseline', reward_count: 2, avg_reward: 1 });
  });

  it("clears what quotes the app's texts elsewhere: proposer prompts and answers, rejected answers, unmatched-prompt previews", async () => {
    srv.setClockOffset(0);
    const s = (await api(srv.t.url, 'POST', SESSIONS, { key: srv.t.key, body: { config_body: pipelineJobBody() } })).body;
    // A call of no declared module: its system text is reported once, with a preview of it.
    const unmatched = await api(s.proxy_url, 'POST', '/u-1/chat/completions', { body: { messages: [{ role: 'system', content: 'Customer 4411-PRIVATE asked about a refund.' }, { role: 'user', content: 'hi' }] } });
    expect(unmatched.status).toBe(200);
    // A grounded proposal, as the proposer runner records it: its prompt quotes calls, its answer may quote them back.
    const now = new Date(srv.clock.now()).toISOString();
    const lease = await srv.t.server.store.startProposal({ jobId: s.job_id, id: newProposalId(), parentId: 'baseline', module: 'extract', tip: 'none', prompt: [{ role: 'user', content: 'Call input: lost card 4411-PRIVATE' }], leaseUntil: new Date(srv.clock.now() + 60_000).toISOString(), now });
    if (!lease) throw new Error('no lease');
    await srv.t.server.store.finishProposal({ jobId: s.job_id, id: lease.id, status: 'succeeded', response: 'As in "lost card 4411-PRIVATE", ...', error: null,
      events: [{ eventType: 'mipro.proposal.created', message: 'proposal 1', data: { proposal_id: lease.id, candidate_ids: ['cand_x'], rejected: [{ text: 'Quote 4411-PRIVATE back', reason: 'adds a placeholder' }] } }],
      candidates: [{ id: 'cand_x', parentId: 'baseline', instruction: 'Extract the entities carefully.', module: 'extract', instructions: { extract: 'Extract the entities carefully.' }, tip: 'none', proposalId: lease.id }] });
    const views = async () => ({
      proposals: (await api(srv.t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: srv.t.key })).body.items as { prompt: unknown[]; response: string | null; candidate_ids: string[]; status: string }[],
      events: ((await api(srv.t.url, 'GET', `${SESSIONS}/${s.session_id}/events`, { key: srv.t.key })).body.events as { event_type: string; data: Record<string, unknown> }[])
        .filter((e) => e.event_type === 'mipro.module.unmatched' || e.event_type === 'mipro.proposal.created'),
    });
    const fresh = await until('the unmatched event', views, (v) => v.events.length === 2);
    expect(JSON.stringify(fresh)).toContain('4411-PRIVATE');
    await new Promise((r) => setTimeout(r, 200));
    expect(JSON.stringify(await views())).toContain('4411-PRIVATE');

    srv.setClockOffset(2 * DAY_MS);
    const cleared = await until('retention of proposals and previews', views, (v) => !JSON.stringify(v).includes('4411-PRIVATE'));
    expect(cleared.proposals).toMatchObject([{ prompt: [], response: null, candidate_ids: ['cand_x'], status: 'succeeded' }]);
    const [unmatchedEvent, createdEvent] = ['mipro.module.unmatched', 'mipro.proposal.created'].map((type) => cleared.events.find((e) => e.event_type === type)!);
    expect(unmatchedEvent!.data).toMatchObject({ preview: null, length: 'Customer 4411-PRIVATE asked about a refund.'.length, reason: 'no_match' });
    expect(unmatchedEvent!.data.text_sha256).toMatch(/^[0-9a-f]{64}$/);
    // A proposal's rejected answers lose their text and keep their reasons.
    expect(createdEvent!.data).toMatchObject({ candidate_ids: ['cand_x'], rejected: [{ text: null, reason: 'adds a placeholder' }] });
    // The program the proposal made stays.
    const cands = await api(srv.t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: srv.t.key });
    expect(cands.body.candidates.map((c: { candidate_id: string }) => c.candidate_id)).toContain('cand_x');
  });
});
