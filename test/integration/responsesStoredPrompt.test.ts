import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A Responses call that names a prompt stored at OpenAI (`prompt: {id, version, variables}`, the
 * Agents SDK's `Agent.prompt`): only OpenAI can resolve it. Natively it goes upstream as sent; a
 * translated call would reach the model without the prompt, so it is a 422 naming `prompt`, before
 * anything is dispatched or recorded, as for built-in tools.
 */
const s = useSurfaceHarness(['openai', 'openai_compatible']);
const PROMPT = { id: 'pmpt_0123456789abcdef', version: '2', variables: { city: 'Paris' } };

describe('a Responses call with a stored prompt', () => {
  it('goes upstream as sent when OpenAI answers it natively', async () => {
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${s.jobs.get('openai')!.proxyUrl}/stored-prompt-native/v1`, maxRetries: 0 });
    const r = await openai.responses.create({ model: 'gpt-4o-mini', prompt: PROMPT, input: 'Weather?' });
    expect(r.output_text).toBe('Paris.');
    expect(s.h.openai.requests.map((q) => (q.body as { prompt?: unknown }).prompt)).toEqual([PROMPT]);
  });

  it('is a 422 naming prompt when translated to chat completions, with nothing sent or recorded', async () => {
    const job = s.jobs.get('openai_compatible')!;
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${job.proxyUrl}/stored-prompt-translated/v1`, maxRetries: 0 });
    const err = await openai.responses.create({ model: 'gpt-4o-mini', prompt: PROMPT, input: 'Weather?' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('prompt');
    expect(s.h.openai.requests).toHaveLength(0);
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/stored-prompt-translated`, { key: s.h.t.key })).status).toBe(404);
  });
});
