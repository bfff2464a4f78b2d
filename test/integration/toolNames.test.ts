import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * Tool names a provider refuses (OpenAI: ^[a-zA-Z0-9_-]{1,64}$; Anthropic: ^[a-zA-Z0-9_-]{1,128}$,
 * src/providers/toolNames.ts) used to be sent, recorded, and then refused by the provider. They are a
 * 422 naming the client's own field before anything is dispatched or recorded; a name the provider
 * takes goes as sent, and chat servers without the rule (openai_compatible) get any name.
 */
const s = useSurfaceHarness(['openai', 'anthropic', 'openai_compatible']);
const LONG_100 = 'a'.repeat(100);
const LONG_65 = 'b'.repeat(65);
const LONG_129 = 'c'.repeat(129);
let n = 0;

const chatTool = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object', properties: {} } } });
const messagesTool = (name: string) => ({ name, input_schema: { type: 'object', properties: {} } });
const chatBody = (name: string, stream = false) => ({ model: 'm', stream, messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Weather?' }], tools: [chatTool('ok_tool'), chatTool(name)] });
const messagesBody = (name: string, stream = false) => ({ model: 'm', max_tokens: 50, stream, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Weather?' }], tools: [messagesTool('ok_tool'), messagesTool(name)] });

async function call(provider: PolicyProvider, surface: string, body: unknown): Promise<{ status: number; body: any; rid: string }> {
  const rid = `tool-names-${n++}`;
  const res = await api(s.jobs.get(provider)!.proxyUrl, 'POST', `/${rid}/${surface}`, { body });
  return { status: res.status, body: res.body, rid };
}

/** The 422 named `path`, and neither an upstream request nor a rollout record came of it. */
async function expectRefused(provider: PolicyProvider, res: { status: number; body: any; rid: string }, path: string, why: RegExp): Promise<void> {
  expect(res.status, JSON.stringify(res.body)).toBe(422);
  const message: string = res.body.error.message;
  expect(message).toContain(`${path}: `);
  expect(message).toMatch(why);
  expect(s.h.upstreamOf(provider)).toHaveLength(0);
  const job = s.jobs.get(provider)!;
  expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${res.rid}`, { key: s.h.t.key })).status).toBe(404);
}

describe('tool names toward an openai policy', () => {
  it('chat: a name over 64 characters is a 422 on tools.1.function.name, JSON and streamed', async () => {
    await expectRefused('openai', await call('openai', 'chat/completions', chatBody(LONG_65)), 'tools.1.function.name', /65 characters long: openai takes tool names of 1 to 64/);
    await expectRefused('openai', await call('openai', 'chat/completions', chatBody(LONG_65, true)), 'tools.1.function.name', /openai takes tool names/);
  });

  it('chat: a name with a dot is a 422', async () => {
    await expectRefused('openai', await call('openai', 'chat/completions', chatBody('weather.get')), 'tools.1.function.name', /a character other than/);
  });

  it('Messages translated: a name Anthropic takes but OpenAI does not is a 422 on tools.1.name', async () => {
    await expectRefused('openai', await call('openai', 'messages', messagesBody(LONG_100)), 'tools.1.name', /100 characters long: openai takes/);
    await expectRefused('openai', await call('openai', 'messages', messagesBody(LONG_100, true)), 'tools.1.name', /openai takes/);
  });

  it('Responses native: a function name outside ^[a-zA-Z0-9_-]+$ is a 422 on tools.1.name, JSON and streamed', async () => {
    const body = (name: string, stream: boolean) => ({ model: 'm', stream, instructions: CLIENT_SYSTEM, input: 'Weather?', tools: [{ type: 'function', name: 'ok_tool', parameters: {} }, { type: 'function', name, parameters: {} }] });
    await expectRefused('openai', await call('openai', 'responses', body('weather.get', false)), 'tools.1.name', /a character other than a letter, a digit, _ or -: openai takes tool names matching/);
    await expectRefused('openai', await call('openai', 'responses', body('get weather', true)), 'tools.1.name', /openai takes tool names/);
    // No length limit of the Responses API is known (only chat's 64): a long plain name goes.
    expect((await call('openai', 'responses', body(LONG_100, false))).status).toBe(200);
    expect((s.h.openai.requests.at(-1)!.body as { tools: Array<{ name: string }> }).tools[1]!.name).toBe(LONG_100);
  });

  it('a 64-character name goes as sent', async () => {
    const res = await call('openai', 'chat/completions', chatBody('d'.repeat(64)));
    expect(res.status).toBe(200);
    expect((s.h.openai.requests[0]!.body as { tools: Array<{ function: { name: string } }> }).tools[1]!.function.name).toBe('d'.repeat(64));
  });

  it('openai_compatible has no such rule: a long dotted name goes as sent', async () => {
    expect((await call('openai_compatible', 'chat/completions', chatBody(`x.${LONG_100}`))).status).toBe(200);
    expect((await call('openai_compatible', 'messages', messagesBody(LONG_100))).status).toBe(200);
  });
});

describe('tool names toward an anthropic policy', () => {
  it('Messages native: a custom tool name over 128 characters is a 422 on tools.1.name, JSON and streamed', async () => {
    await expectRefused('anthropic', await call('anthropic', 'messages', messagesBody(LONG_129)), 'tools.1.name', /129 characters long: anthropic takes tool names of 1 to 128/);
    await expectRefused('anthropic', await call('anthropic', 'messages', messagesBody('a b', true)), 'tools.1.name', /a character other than/);
  });

  it('chat translated: a name with a space is a 422 on tools.1.function.name, JSON and streamed', async () => {
    await expectRefused('anthropic', await call('anthropic', 'chat/completions', chatBody('get weather')), 'tools.1.function.name', /anthropic takes tool names/);
    await expectRefused('anthropic', await call('anthropic', 'chat/completions', chatBody(LONG_129, true)), 'tools.1.function.name', /129 characters long/);
  });

  it('Responses translated: a refused name is a 422 on tools.1.name', async () => {
    const body = { model: 'm', instructions: CLIENT_SYSTEM, input: 'Weather?', tools: [{ type: 'function', name: 'ok_tool', parameters: {} }, { type: 'function', name: 'a/b', parameters: {} }] };
    await expectRefused('anthropic', await call('anthropic', 'responses', body), 'tools.1.name', /anthropic takes tool names/);
  });

  it('a 100-character name (over OpenAI\'s limit, within Anthropic\'s) goes as sent, natively and translated', async () => {
    expect((await call('anthropic', 'messages', messagesBody(LONG_100))).status).toBe(200);
    expect((await call('anthropic', 'chat/completions', chatBody(LONG_100))).status).toBe(200);
    const names = s.h.anthropic.requests.map((r) => (r.body as { tools: Array<{ name: string }> }).tools[1]!.name);
    expect(names).toEqual([LONG_100, LONG_100]);
  });
});
