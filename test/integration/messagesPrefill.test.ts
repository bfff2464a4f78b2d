import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A Messages call ending with an assistant turn (a prefill: `{` to force JSON). Anthropic continues
 * that turn and apps join prefill and answer; a chat-completions model answers a final assistant
 * turn with a new turn, so the joined text came out doubled. Natively it goes to Anthropic as sent;
 * translated it is a 422 naming the turn, before anything is dispatched or recorded.
 */
const s = useSurfaceHarness(['anthropic', 'openai_compatible']);
const PREFILLED = [{ role: 'user' as const, content: 'Give the capital of France as JSON.' }, { role: 'assistant' as const, content: '{' }];

describe('a Messages call ending with a prefill', () => {
  it('goes to Anthropic as sent', async () => {
    const client = new Anthropic({ apiKey: 'unused', baseURL: `${s.jobs.get('anthropic')!.proxyUrl}/prefill-native`, maxRetries: 0 });
    await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, system: CLIENT_SYSTEM, messages: PREFILLED });
    expect((s.h.anthropic.requests.at(-1)!.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: '{' });
  });

  it('is a 422 naming the turn when translated to chat completions, with nothing sent or recorded', async () => {
    const job = s.jobs.get('openai_compatible')!;
    const client = new Anthropic({ apiKey: 'unused', baseURL: `${job.proxyUrl}/prefill-translated`, maxRetries: 0 });
    const err = await client.messages.create({ model: 'local', max_tokens: 50, system: CLIENT_SYSTEM, messages: PREFILLED }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.UnprocessableEntityError);
    expect((err as InstanceType<typeof Anthropic.APIError>).message).toMatch(/messages\.1: a final assistant turn \(prefill\) needs Anthropic itself/);
    expect(s.h.openai.requests).toHaveLength(0);
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/prefill-translated`, { key: s.h.t.key })).status).toBe(404);
  });

  it('still translates a conversation whose last assistant turn is followed by the user\'s', async () => {
    const client = new Anthropic({ apiKey: 'unused', baseURL: `${s.jobs.get('openai_compatible')!.proxyUrl}/prefill-none`, maxRetries: 0 });
    const r = await client.messages.create({ model: 'local', max_tokens: 50, system: CLIENT_SYSTEM, messages: [...PREFILLED, { role: 'user', content: 'Go on.' }] });
    expect(r.content).toMatchObject([{ type: 'text', text: 'Paris.' }]);
  });
});
