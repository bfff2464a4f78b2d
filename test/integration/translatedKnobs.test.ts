import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * Fields one API has and the other names differently, carried across a translation instead of
 * dropped: a tool's strict mode (chat's `function.strict`, Messages' and Responses' `strict`).
 */
const s = useSurfaceHarness(['anthropic', 'openai', 'openai_compatible']);
let n = 0;

async function call(provider: PolicyProvider, surface: string, body: Record<string, unknown>): Promise<void> {
  const res = await api(s.jobs.get(provider)!.proxyUrl, 'POST', `/knobs-${n++}/${surface}`, { body: { model: 'm', ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const question = [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Weather in Paris?' }];

describe('a strict tool toward an anthropic policy', () => {
  const sentTools = (): unknown => (s.h.anthropic.requests.at(-1)!.body as { tools: unknown }).tools;

  it.each([false, true])('chat: function.strict goes as the Messages tool\'s strict (stream %s)', async (stream) => {
    await call('anthropic', 'chat/completions', {
      stream, messages: question,
      tools: [{ type: 'function', function: { name: 'weather', parameters: schema, strict: true } }, { type: 'function', function: { name: 'loose', parameters: schema, strict: false } }, { type: 'function', function: { name: 'plain', parameters: schema } }],
    });
    expect(sentTools()).toEqual([
      { name: 'weather', input_schema: schema, strict: true },
      { name: 'loose', input_schema: schema, strict: false },
      { name: 'plain', input_schema: schema },
    ]);
  });

  it('Responses: a function tool\'s strict goes too', async () => {
    await call('anthropic', 'responses', { instructions: CLIENT_SYSTEM, input: 'Weather in Paris?', tools: [{ type: 'function', name: 'weather', parameters: schema, strict: true }] });
    expect(sentTools()).toEqual([{ name: 'weather', input_schema: schema, strict: true }]);
  });
});
