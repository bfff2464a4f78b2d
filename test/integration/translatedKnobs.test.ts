import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * Fields one API has and the other names differently, carried across a translation instead of
 * dropped: a tool's strict mode (chat's `function.strict`, Messages' and Responses' `strict`), and a
 * Messages call's `output_config.effort` (chat's `reasoning_effort`).
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

describe('Messages output_config.effort toward a chat-completions upstream', () => {
  const sent = (): Record<string, unknown> => s.h.openai.requests.at(-1)!.body as Record<string, unknown>;
  const messages = [{ role: 'user', content: 'Capital of France?' }];

  it.each([false, true])('goes as reasoning_effort, and the job\'s temperature is not added beside it on openai (stream %s)', async (stream) => {
    await call('openai', 'messages', { max_tokens: 50, stream, system: CLIENT_SYSTEM, messages, output_config: { effort: 'high' } });
    expect(sent().reasoning_effort).toBe('high');
    // OpenAI's reasoning models refuse a temperature beside reasoning_effort (docs/API.md "Proxy request defaults").
    expect(sent()).not.toHaveProperty('temperature');
  });

  it('goes to openai_compatible servers too, beside output_config.format', async () => {
    const format = { type: 'json_schema', schema };
    await call('openai_compatible', 'messages', { max_tokens: 50, system: CLIENT_SYSTEM, messages, output_config: { effort: 'max', format } });
    expect(sent()).toMatchObject({ reasoning_effort: 'max', response_format: { type: 'json_schema' } });
  });

  // OpenAI refuses strict: true on such a schema, which Anthropic takes (the SDK's zodOutputFormat
  // leaves `.optional()` fields out of `required`): the call was OpenAI's 400.
  it.each([
    ['an optional property', false, { ...schema, properties: { ...schema.properties, note: { type: 'string' } } }],
    ['a nested object open to other keys', false, { ...schema, properties: { ...schema.properties, meta: { type: 'object', properties: {} } }, required: ['city', 'meta'] }],
    ['every object closed and every property required', true, schema],
  ])('output_config.format with %s goes with strict %s', async (_what, strict, s2) => {
    await call('openai', 'messages', { max_tokens: 50, system: CLIENT_SYSTEM, messages, output_config: { format: { type: 'json_schema', schema: s2 } } });
    expect(sent().response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema: s2, strict } });
  });

  it('without effort (or with null) no reasoning_effort is sent', async () => {
    await call('openai', 'messages', { max_tokens: 50, system: CLIENT_SYSTEM, messages, output_config: { effort: null } });
    expect(sent()).not.toHaveProperty('reasoning_effort');
    expect(sent().temperature).toBe(0);
  });

  it('an effort that is not a string is a 422 on output_config.effort, with nothing sent', async () => {
    const res = await api(s.jobs.get('openai')!.proxyUrl, 'POST', `/knobs-${n++}/messages`, { body: { model: 'm', max_tokens: 50, messages, output_config: { effort: 3 } } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toContain('output_config.effort');
    expect(s.h.openai.requests).toHaveLength(0);
  });

  it('natively, Anthropic gets output_config as sent', async () => {
    await call('anthropic', 'messages', { max_tokens: 50, system: CLIENT_SYSTEM, messages, output_config: { effort: 'low' } });
    expect((s.h.anthropic.requests.at(-1)!.body as Record<string, unknown>).output_config).toEqual({ effort: 'low' });
  });
});

describe('structured outputs toward an anthropic policy', () => {
  const sent = (): Record<string, unknown> => s.h.anthropic.requests.at(-1)!.body as Record<string, unknown>;
  const format = { type: 'json_schema', schema };

  // It used to be ignored: Claude got no schema and answered prose the app could not parse.
  it.each([false, true])('chat: a json_schema response_format goes as output_config.format (stream %s)', async (stream) => {
    await call('anthropic', 'chat/completions', { stream, messages: question, response_format: { type: 'json_schema', json_schema: { name: 'place', schema, strict: true } } });
    expect(sent().output_config).toEqual({ format });
  });

  it.each([false, true])('Responses: a json_schema text.format goes as output_config.format (stream %s)', async (stream) => {
    await call('anthropic', 'responses', { stream, instructions: CLIENT_SYSTEM, input: 'Weather in Paris?', text: { format: { type: 'json_schema', name: 'place', schema, strict: true } } });
    expect(sent().output_config).toEqual({ format });
  });

  it('a text response_format sends none', async () => {
    await call('anthropic', 'chat/completions', { messages: question, response_format: { type: 'text' } });
    expect(sent()).not.toHaveProperty('output_config');
  });

  // JSON mode has no Messages counterpart; its call already asks for JSON in its messages (OpenAI
  // requires the word), so it goes on without a schema, as before structured outputs were translated.
  it.each([
    ['chat/completions', { messages: [{ role: 'user', content: 'Weather in Paris? Answer in JSON.' }], response_format: { type: 'json_object' } }],
    ['responses', { instructions: CLIENT_SYSTEM, input: 'Weather in Paris? Answer in JSON.', text: { format: { type: 'json_object' } } }],
  ])('%s: json_object goes on with no output_config (Messages has no schema-less JSON mode)', async (surface, body) => {
    const res = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', `/knobs-${n++}/${surface}`, { body: { model: 'm', ...body } });
    expect(res.status).toBe(200);
    expect(sent()).not.toHaveProperty('output_config');
  });

  it('a json_schema without a schema object is a 4xx naming it, with nothing sent', async () => {
    const before = s.h.anthropic.requests.length;
    const res = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', `/knobs-${n++}/chat/completions`, { body: { model: 'm', messages: question, response_format: { type: 'json_schema', json_schema: { name: 'place' } } } });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.stringify(res.body)).toContain('response_format.json_schema.schema');
    expect(s.h.anthropic.requests).toHaveLength(before);
  });
});
