import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fakeAnthropic.js';
import { type FakeUpstream, startFakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import type { RecordedRequest } from '../fakes/fakeServerBase.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const PROPOSAL = JSON.stringify({ instructions: ['Answer in one careful word.'] });

/**
 * The proposer speaks to real provider APIs: each request must name the proposer's model and a
 * length limit the provider reads (OpenAI: max_completion_tokens; Anthropic: max_tokens, required).
 * Both fakes refuse a request without a model, as the real APIs do.
 */
describe('the proposer on each provider', () => {
  let openai: FakeUpstream;
  let anthropic: FakeAnthropic;
  let t: TestServer;
  const isProposer = (r: RecordedRequest): boolean => /improve the instruction|describe these inputs/.test(JSON.stringify(r.body));

  beforeAll(async () => {
    // One OpenAI fake plays the policy and the OpenAI proposer; the Anthropic fake only proposes.
    openai = await startFakeUpstream({ reply: (req) => (systemPromptOf(req).includes('improve the instruction') ? PROPOSAL : 'ok') });
    anthropic = await startFakeAnthropic({ reply: PROPOSAL });
    t = await startTestServer({
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: anthropic.url },
    });
  });
  afterAll(async () => {
    await t.close();
    await openai.close();
    await anthropic.close();
  });

  async function proposeOnce(proposerProvider: string, proposerModel: string, proposer: Record<string, unknown> = {}): Promise<void> {
    expect(await firstProposal(proposerProvider, proposerModel, proposer)).toMatchObject({ status: 'succeeded', error: null });
  }

  async function firstProposal(proposerProvider: string, proposerModel: string, proposer: Record<string, unknown> = {}): Promise<{ status: string; error: string | null }> {
    const body = seedJobBody({ proposerProvider, proposerModel, initialPrompt: 'Answer.', mipro: { online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2 } });
    Object.assign(body.policy_optimization.mipro.proposer, proposer);
    const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } })).body as { session_id: string; proxy_url: string };
    for (let i = 0; i < 5; i++) {
      await api(s.proxy_url, 'POST', `/r${i}/chat/completions`, { body: { messages: [{ role: 'user', content: `question ${i}` }] } });
      await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } });
    }
    const deadline = Date.now() + 10_000;
    for (;;) {
      const proposals = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: t.key })).body.items as Array<{ status: string; error: string | null }>;
      if (proposals.some((p) => p.status !== 'running')) return proposals[0]!;
      if (Date.now() > deadline) throw new Error('no proposal finished in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('names the model and sends max_completion_tokens to OpenAI', async () => {
    await proposeOnce('openai', 'gpt-4.1-mini');
    const sent = openai.requests.filter(isProposer);
    expect(sent.length).toBeGreaterThan(0);
    for (const r of sent) {
      expect(r.body).toMatchObject({ model: 'gpt-4.1-mini', max_completion_tokens: expect.any(Number) });
      expect(r.body).not.toHaveProperty('max_tokens');
    }
  });

  it('names the model and sends max_tokens to Anthropic', async () => {
    await proposeOnce('anthropic', 'claude-sonnet-4-5');
    expect(anthropic.requests.length).toBeGreaterThan(0);
    for (const r of anthropic.requests) expect(r.body).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: expect.any(Number) });
    // The proposal itself gets proposer.max_tokens (the dataset summary has its own, shorter limit).
    expect(anthropic.requests.find((r) => JSON.stringify(r.body).includes('improve the instruction'))?.body).toMatchObject({ max_tokens: 512 });
  });

  it('sends no temperature to a reasoning proposer configured with temperature: null', async () => {
    // gpt-5, o3, o4-mini answer 400 "Unsupported value: 'temperature' does not support 0.7 with this
    // model" (o1/o3-mini: "Unsupported parameter: 'temperature'"); such a job never got a proposal.
    const before = openai.requests.length;
    await proposeOnce('openai', 'gpt-5-mini', { temperature: null, max_tokens: 4096 });
    const sent = openai.requests.slice(before).filter(isProposer);
    expect(sent.map((r) => JSON.stringify(r.body).includes('describe these inputs'))).toContain(true); // the dataset summary too
    expect(sent.map((r) => JSON.stringify(r.body).includes('improve the instruction'))).toContain(true);
    // Reasoning counts in the limit: the summary gets the job's 4096, not its own 256 (always spent thinking).
    expect(sent.find((r) => JSON.stringify(r.body).includes('describe these inputs'))?.body).toMatchObject({ max_completion_tokens: 4096 });
    for (const r of sent) {
      expect(r.body).toMatchObject({ model: 'gpt-5-mini', max_completion_tokens: expect.any(Number) });
      expect(r.body).not.toHaveProperty('temperature');
      expect(r.body).not.toHaveProperty('max_tokens');
    }
  });

  it('says a reasoning proposer spent its whole token limit, naming proposer.max_tokens', async () => {
    // What gpt-5 answers when its reasoning used all of max_completion_tokens: empty content,
    // finish_reason "length". The proposal failed as a bare "unparseable reply".
    openai.setBehavior({
      reply: (req) => (systemPromptOf(req).includes('improve the instruction') ? PROPOSAL : 'ok'),
      cutOff: { when: (req) => systemPromptOf(req).includes('improve the instruction'), reasoningTokens: 512 },
    });
    try {
      const proposal = await firstProposal('openai', 'gpt-5-mini', { temperature: null });
      expect(proposal).toMatchObject({ status: 'failed' });
      expect(proposal.error).toBe('no usable instruction: unparseable reply (expected JSON {"instructions": ["..."]}, fenced or not, or a numbered list); the answer was cut off at its limit of 512 tokens, 512 of them reasoning: raise mipro.proposer.max_tokens');
    } finally {
      openai.setBehavior({ reply: (req) => (systemPromptOf(req).includes('improve the instruction') ? PROPOSAL : 'ok') });
    }
  });
});
