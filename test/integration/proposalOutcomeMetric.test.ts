import { beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, lastUserMessageOf } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';
import type { Store } from '../../src/store/types.js';

const JOBS = '/api/policy-optimization/online/jobs';
const PROMPT = 'Label the ticket as billing, bug or other.';

/**
 * `miprox_proposals_total{outcome}` says what became of each proposal. A proposal whose candidates the
 * finish refused (the job ended, or a warm start on any instance filled the pool meanwhile) added
 * nothing and is recorded failed: the metric counts it failed too, for instruction and demo-set
 * proposals alike (it said succeeded).
 */
describe('the proposals metric when the finish refuses a proposal\'s candidates', () => {
  let proposer: FakeUpstream;
  let t: TestServer;
  useProposerServer({
    db: 'sqlite',
    policy: { reply: (req) => `A(${lastUserMessageOf(req)})` },
    proposer: { reply: () => JSON.stringify({ instructions: [`Label it carefully v${Date.now()}-${Math.random()}.`] }) },
    start: { cacheTtlMs: 20 },
  }, (s) => ({ proposer, t } = s));
  beforeAll(() => {
    // Every finish runs as if the pool had filled up since the runner counted its room.
    const store: Store = t.server.store;
    const finish = store.finishProposal.bind(store);
    store.finishProposal = (p) => finish({ ...p, maxCandidates: 1 });
  });

  const outcomes = async () => {
    const text = await fetch(`${t.url}/metrics`).then((r) => r.text());
    const count = (outcome: string) => Number(new RegExp(`miprox_proposals_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    return { succeeded: count('succeeded'), failed: count('failed') };
  };

  it.each([
    ['instruction_only', {}],
    ['demos_only', { max_demos: 2, demo_min_reward: 1 }],
  ] as const)('%s: counted failed, not succeeded', async (mode, extra) => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url, initialPrompt: PROMPT,
      mipro: {
        online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 3, ...extra,
        proposer: { mode, model: 'fake-proposer', provider: 'openai_compatible', inference_url: proposer.url, instructions_per_batch: 1 },
      },
    });
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body })).body as { job_id: string; system_id: string; proxy_url: string };
    const before = await outcomes();
    const proposals = async () => (await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body.items as { status: string; error: string | null }[];
    for (let i = 0; i < 40 && (await proposals()).length === 0; i++) {
      const rid = `${mode}-r${i}`;
      const res = await api(`${job.proxy_url}/${rid}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: `GOOD-${i}` }] } });
      expect(res.status).toBe(200);
      await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, [rid])).length === 1);
      expect((await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: rid, reward_info: { score: 1 } } })).status).toBe(200);
    }
    await waitFor(async () => (await proposals()).some((p) => p.status === 'failed'));
    expect((await proposals())[0]!.error).toMatch(/online_proposer_max_candidates/);
    await waitFor(async () => (await outcomes()).failed > before.failed);
    expect((await outcomes()).succeeded).toBe(before.succeeded);
  });
});
