import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A Responses call asking for log probabilities (`include: ["message.output_text.logprobs"]`,
 * `top_logprobs`). Natively they go upstream as sent. Translated to chat completions they were
 * dropped and the answer carried `logprobs: []`, as if the model had none: now a 422 naming the
 * field, before anything is dispatched or recorded, as chat `logprobs` to an Anthropic policy.
 */
const s = useSurfaceHarness(['openai', 'openai_compatible']);
const ASK = { model: 'gpt-4o-mini', input: 'Capital of France?', include: ['message.output_text.logprobs' as const] };

describe('a Responses call asking for log probabilities', () => {
  it('goes upstream as sent when OpenAI answers it natively', async () => {
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${s.jobs.get('openai')!.proxyUrl}/logprobs-native/v1`, maxRetries: 0 });
    await openai.responses.create({ ...ASK, top_logprobs: 3 });
    expect(s.h.openai.requests.map((q) => (q.body as { top_logprobs?: unknown; include?: unknown }))).toMatchObject([{ top_logprobs: 3, include: ASK.include }]);
  });

  it.each([
    ['include', ASK],
    ['top_logprobs', { model: 'gpt-4o-mini', input: 'Capital of France?', top_logprobs: 2 }],
  ] as const)('is a 422 naming %s when translated to chat completions, with nothing sent or recorded', async (field, body) => {
    const job = s.jobs.get('openai_compatible')!;
    const rid = `logprobs-translated-${field}`;
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}/v1`, maxRetries: 0 });
    const err = await openai.responses.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe(field === 'include' ? 'include.0' : 'top_logprobs');
    expect(s.h.openai.requests).toHaveLength(0);
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).status).toBe(404);
  });

  it('still answers a translated call whose include asks only for what does not change the answer', async () => {
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${s.jobs.get('openai_compatible')!.proxyUrl}/logprobs-other/v1`, maxRetries: 0 });
    const r = await openai.responses.create({ model: 'gpt-4o-mini', input: 'Capital of France?', include: ['reasoning.encrypted_content'], top_logprobs: 0 });
    expect(r.output_text).toBe('Paris.');
  });
});
