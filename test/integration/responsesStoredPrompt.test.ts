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

  it('takes a call without input, as OpenAI does: natively it goes without one, translated its instructions are the call', async () => {
    const native = await api(s.jobs.get('openai')!.proxyUrl, 'POST', '/no-input-native/responses', { body: { prompt: PROMPT } });
    expect(native.status, JSON.stringify(native.body)).toBe(200);
    const sent = s.h.openai.requests.at(-1)!.body as Record<string, unknown>;
    expect(sent.prompt).toEqual(PROMPT);
    expect(sent).not.toHaveProperty('input');
    const instructionsOnly = await api(s.jobs.get('openai')!.proxyUrl, 'POST', '/responses', { body: { instructions: 'Say hello.' } });
    expect(instructionsOnly.status, JSON.stringify(instructionsOnly.body)).toBe(200);
    expect(s.h.openai.requests.at(-1)!.body).not.toHaveProperty('input');
    // Translated: the instructions become the chat call's only message.
    const translated = await api(s.jobs.get('openai_compatible')!.proxyUrl, 'POST', '/responses', { body: { instructions: 'Say hello.' } });
    expect(translated.status, JSON.stringify(translated.body)).toBe(200);
    expect((s.h.openai.requests.at(-1)!.body as { messages: unknown }).messages).toEqual([{ role: 'system', content: 'Say hello.' }]);
    // With nothing at all to send, still a 422 naming input.
    const empty = await api(s.jobs.get('openai_compatible')!.proxyUrl, 'POST', '/responses', { body: {} });
    expect([empty.status, empty.body.error.param]).toEqual([422, 'input']);
  });
});
