import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';
/** A module as operators declare them: a few KB of rules around a placeholder. */
const TEMPLATE = `Classify the customer's message about {topic}.\n${'Rule: keep the label set exact and answer with one label. '.repeat(90)}`;

/**
 * A module whose template is longer than 4,000 characters got no proposal ever: the proposer was
 * asked for at most 4,000 characters with an answer budget of the job's max_tokens (512), and an
 * instruction that keeps the template's rules was refused as too long (h116: 6 of 17 proposals of a
 * 16-module job). Now the limit is twice the template and the answer budget fits it.
 */
describe('proposals for a module with a long template', () => {
  let proposer: FakeUpstream;
  let t: TestServer;
  useProposerServer({
    policy: { reply: () => 'billing' },
    proposer: {
      reply: (req) => {
        const prompt = JSON.stringify(req.body);
        if (/describe these inputs/.test(prompt)) return 'Customer messages.';
        return JSON.stringify({ instructions: [`${TEMPLATE}\nThink about the customer's intent first.`] });
      },
    },
  }, (s) => ({ proposer, t } = s));

  it('accepts an instruction as long as the template, asking the proposer with room for it', async () => {
    expect(TEMPLATE.length).toBeGreaterThan(5_000);
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url,
      mipro: { online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 2 },
    });
    Object.assign(body.policy_optimization, { modules: [{ name: 'classify', template: TEMPLATE }] });
    (body.policy_optimization.mipro.proposer as Record<string, unknown>).instructions_per_batch = 1;
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const proposals = async () => ((await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body.items ?? []) as
      { status: string; error: string | null; prompt: { content: string }[] }[];
    for (let i = 0; i < 12 && (await proposals()).every((p) => p.status !== 'succeeded' && p.status !== 'failed'); i++) {
      const system = TEMPLATE.replace('{topic}', 'cards');
      await api(`${job.proxy_url}/r${i}/chat/completions`, 'POST', '', { body: { model: 'x', messages: [{ role: 'system', content: system }, { role: 'user', content: `m${i}` }] } });
      await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } });
    }
    await waitFor(async () => (await proposals()).some((p) => p.status === 'succeeded' || p.status === 'failed'));
    const [done] = (await proposals()).filter((p) => p.status !== 'running');
    expect(done!.error).toBeNull();
    expect(done!.status).toBe('succeeded');
    const prompt = done!.prompt.map((m) => m.content).join('\n');
    expect(prompt).toContain(`at most ${2 * TEMPLATE.length} characters`);
    expect(prompt).toContain(TEMPLATE.slice(-80).trim()); // the whole template shown, not its first 4,000 characters
    const asked = proposer.requests.map((r) => r.body as { messages: unknown; max_completion_tokens?: number; max_tokens?: number })
      .filter((b) => !/describe these inputs/.test(JSON.stringify(b.messages)));
    const budget = asked.at(-1)!.max_completion_tokens ?? asked.at(-1)!.max_tokens ?? 0;
    expect(budget).toBeGreaterThan(TEMPLATE.length / 3);
    const candidates = (await api(t.url, 'GET', `/api/systems/${job.system_id}/candidates`, { key: t.key })).body as { items?: { instruction: string }[] } | { instruction: string }[];
    const list = Array.isArray(candidates) ? candidates : candidates.items ?? [];
    expect(list.some((c) => c.instruction.endsWith("Think about the customer's intent first."))).toBe(true);
  });
});
