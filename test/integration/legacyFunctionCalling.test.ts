import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * Chat completions' legacy function calling (`functions`, `function_call`, an assistant turn's
 * `function_call`) sent to an anthropic policy: the Messages translation carries only `tools`, so
 * these are refused with a 422 naming the field (as logprobs are), before anything is dispatched or
 * recorded, instead of reaching the model without the functions the client offered.
 */
const s = useSurfaceHarness(['anthropic']);
let n = 0;

describe('legacy function calling with an anthropic policy', () => {
  it('is a 422 naming the field, with nothing sent upstream and no rollout recorded', async () => {
    const job = s.jobs.get('anthropic')!;
    const weather = { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } };
    const question = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'Weather in Paris?' }];
    const refused: Array<[Record<string, unknown>, string]> = [
      [{ messages: question, functions: [weather] }, 'functions'],
      [{ messages: question, functions: [weather], function_call: 'auto' }, 'functions'],
      [{ messages: question, function_call: { name: 'weather' } }, 'function_call'],
      [{ messages: [...question, { role: 'assistant', content: null, function_call: { name: 'weather', arguments: '{"city":"Paris"}' } }, { role: 'user', content: 'And?' }] }, 'messages.2.function_call'],
    ];
    for (const [fields, param] of refused) {
      const rid = `legacy-fn-${n++}`;
      const openai = new OpenAI({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}/v1`, maxRetries: 0 });
      const err = await openai.chat.completions.create({ model: 'gpt-4o-mini', ...fields } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming).catch((e: unknown) => e);
      expect(err, param).toBeInstanceOf(OpenAI.UnprocessableEntityError);
      expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe(param);
      expect((err as Error).message).toContain('anthropic');
      expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).status).toBe(404);
    }
    expect(s.h.anthropic.requests).toHaveLength(0);
  });
});
