import { describe, expect, it } from 'vitest';
import type { FakeUpstream, RecordedRequest } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';

/** The proposal call (not the dataset summary): the one a test holds open while it pauses the job. */
const isProposal = (req: RecordedRequest) => !/describe these inputs/.test(JSON.stringify(req.body));

/**
 * docs/API.md, "Paused": a proposal already running when the job is paused finishes and adds its
 * candidates (its proposer call is paid for), the paused job starts no other, and the new candidates
 * get traffic only after the resume.
 */
describe('a proposal in flight at a pause', () => {
  let proposer: FakeUpstream;
  let t: TestServer;
  let release: () => void = () => {};
  let proposalCalls = 0;
  const held = new Promise<void>((r) => (release = r));

  useProposerServer({
    policy: { reply: 'ok' },
    proposer: {
      reply: (req) => {
        if (!isProposal(req)) return 'Short questions.';
        proposalCalls++;
        return JSON.stringify({ instructions: [`Answer carefully, take ${proposalCalls}.`] });
      },
      holdUntil: (req) => (isProposal(req) ? held : undefined),
    },
  }, (s) => ({ proposer, t } = s));

  const view = async (id: string) => (await api(t.url, 'GET', `${SESSIONS}/${id}`, { key: t.key })).body;
  const proposals = async (id: string) => (await api(t.url, 'GET', `${SESSIONS}/${id}/proposals`, { key: t.key })).body.items as Array<{ status: string }>;
  async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async function rollout(id: string): Promise<string> {
    const next = (await api(t.url, 'POST', `${SESSIONS}/${id}/rollouts`, { key: t.key })).body;
    const res = await fetch(next.chat_completions_url, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: `question seed=${next.seed}` }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const r = await api(t.url, 'POST', `${SESSIONS}/${id}/reward`, { key: t.key, body: { rollout_id: next.rollout_id, reward_info: { score: next.seed % 2 } } });
    expect(r.status).toBe(200);
    return res.headers.get('x-mipro-candidate-id')!;
  }

  it('finishes, adds its candidates to the paused job, starts no other, and they are served after the resume', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url, initialPrompt: 'Answer the question.',
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 2, bootstrap_train_seeds: [0], online_pool: { start: 0, end: 100 }, val_seeds: [100] },
    });
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } })).body as { session_id: string };
    const id = s.session_id;
    for (let i = 0; i < 3; i++) await rollout(id);
    // The proposal is running: its proposer call is held open at the fake.
    await until(async () => proposer.requests.some(isProposal));
    expect((await proposals(id)).map((p) => p.status)).toEqual(['running']);

    expect((await api(t.url, 'POST', `${SESSIONS}/${id}/pause`, { key: t.key })).status).toBe(200);
    release();
    await until(async () => (await proposals(id)).every((p) => p.status !== 'running'));
    const paused = await view(id);
    expect(paused.status).toBe('paused');
    expect((await proposals(id)).map((p) => p.status)).toEqual(['succeeded']);
    const added = (paused.candidates as Array<{ candidate_id: string; instruction: string }>).filter((c) => c.candidate_id !== 'baseline');
    expect(added.map((c) => c.instruction)).toEqual(['Answer carefully, take 1.']);

    // Paused: every rollout gets the best known candidate (the baseline), and no proposal starts.
    const whilePaused = [];
    for (let i = 0; i < 8; i++) whilePaused.push(await rollout(id));
    expect(whilePaused).toEqual(Array(8).fill(paused.best_candidate_id));
    expect(paused.best_candidate_id).toBe('baseline');
    await new Promise((r) => setTimeout(r, 300));
    expect(await proposals(id)).toHaveLength(1);

    expect((await api(t.url, 'POST', `${SESSIONS}/${id}/resume`, { key: t.key })).status).toBe(200);
    const resumed = new Set<string>();
    for (let i = 0; i < 10 && !resumed.has(added[0]!.candidate_id); i++) resumed.add(await rollout(id));
    expect(resumed.has(added[0]!.candidate_id)).toBe(true);
  });
});
