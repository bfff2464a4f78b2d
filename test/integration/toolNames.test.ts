import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, expectRefused, useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

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


describe('tool names toward an openai policy', () => {
  it('chat: a name over 64 characters is a 422 on tools.1.function.name, JSON and streamed', async () => {
    await expectRefused(s, 'openai', await call('openai', 'chat/completions', chatBody(LONG_65)), 'tools.1.function.name', /65 characters long: openai takes tool names of 1 to 64/);
    await expectRefused(s, 'openai', await call('openai', 'chat/completions', chatBody(LONG_65, true)), 'tools.1.function.name', /openai takes tool names/);
  });

  it('chat: a name with a dot is a 422', async () => {
    await expectRefused(s, 'openai', await call('openai', 'chat/completions', chatBody('weather.get')), 'tools.1.function.name', /a character other than/);
  });

  it('Messages translated: a name Anthropic takes but OpenAI does not is a 422 on tools.1.name', async () => {
    await expectRefused(s, 'openai', await call('openai', 'messages', messagesBody(LONG_100)), 'tools.1.name', /100 characters long: openai takes/);
    await expectRefused(s, 'openai', await call('openai', 'messages', messagesBody(LONG_100, true)), 'tools.1.name', /openai takes/);
  });

  it('Responses native: a function name outside ^[a-zA-Z0-9_-]+$ is a 422 on tools.1.name, JSON and streamed', async () => {
    const body = (name: string, stream: boolean) => ({ model: 'm', stream, instructions: CLIENT_SYSTEM, input: 'Weather?', tools: [{ type: 'function', name: 'ok_tool', parameters: {} }, { type: 'function', name, parameters: {} }] });
    await expectRefused(s, 'openai', await call('openai', 'responses', body('weather.get', false)), 'tools.1.name', /a character other than a letter, a digit, _ or -: openai takes tool names matching/);
    await expectRefused(s, 'openai', await call('openai', 'responses', body('get weather', true)), 'tools.1.name', /openai takes tool names/);
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
    await expectRefused(s, 'anthropic', await call('anthropic', 'messages', messagesBody(LONG_129)), 'tools.1.name', /129 characters long: anthropic takes tool names of 1 to 128/);
    await expectRefused(s, 'anthropic', await call('anthropic', 'messages', messagesBody('a b', true)), 'tools.1.name', /a character other than/);
  });

  it('chat translated: a name with a space is a 422 on tools.1.function.name, JSON and streamed', async () => {
    await expectRefused(s, 'anthropic', await call('anthropic', 'chat/completions', chatBody('get weather')), 'tools.1.function.name', /anthropic takes tool names/);
    await expectRefused(s, 'anthropic', await call('anthropic', 'chat/completions', chatBody(LONG_129, true)), 'tools.1.function.name', /129 characters long/);
  });

  it('Responses translated: a refused name is a 422 on tools.1.name', async () => {
    const body = { model: 'm', instructions: CLIENT_SYSTEM, input: 'Weather?', tools: [{ type: 'function', name: 'ok_tool', parameters: {} }, { type: 'function', name: 'a/b', parameters: {} }] };
    await expectRefused(s, 'anthropic', await call('anthropic', 'responses', body), 'tools.1.name', /anthropic takes tool names/);
  });

  it('a 100-character name (over OpenAI\'s limit, within Anthropic\'s) goes as sent, natively and translated', async () => {
    expect((await call('anthropic', 'messages', messagesBody(LONG_100))).status).toBe(200);
    expect((await call('anthropic', 'chat/completions', chatBody(LONG_100))).status).toBe(200);
    const names = s.h.anthropic.requests.map((r) => (r.body as { tools: Array<{ name: string }> }).tools[1]!.name);
    expect(names).toEqual([LONG_100, LONG_100]);
  });
});

/**
 * The names of the tools a conversation already called (chat's assistant `tool_calls`, Responses'
 * `function_call` items, Messages' `tool_use` blocks) are checked under the same rule: the providers
 * refuse them there too ("Invalid 'messages[9].tool_calls[0].function.name'"), and they used to be
 * sent, recorded, and then refused. The history calls a tool the call no longer offers, so only the
 * history's name is wrong.
 */
describe('tool names in the conversation history', () => {
  const chatHistory = (name: string, stream = false) => ({
    model: 'm', stream, tools: [chatTool('ok_tool')],
    messages: [
      { role: 'system', content: CLIENT_SYSTEM },
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny.' },
      { role: 'user', content: 'And tomorrow?' },
    ],
  });
  const responsesHistory = (name: string, stream = false) => ({
    model: 'm', stream, instructions: CLIENT_SYSTEM, tools: [{ type: 'function', name: 'ok_tool', parameters: {} }],
    input: [
      { role: 'user', content: 'Weather?' },
      { type: 'function_call', call_id: 'call_1', name, arguments: '{}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'Sunny.' },
      { role: 'user', content: 'And tomorrow?' },
    ],
  });
  // The bad call is the second block of the second assistant turn, after a user turn that holds a
  // tool result and text (two chat messages) and the system text (one more): chat's
  // messages.5.tool_calls.0 is the client's messages.3.content.1.
  const messagesHistory = (name: string, stream = false) => ({
    model: 'm', max_tokens: 50, stream, system: CLIENT_SYSTEM, tools: [messagesTool('ok_tool')],
    messages: [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'ok_tool', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny.' }, { type: 'text', text: 'And in Rome?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_2', name, input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: 'Rainy.' }] },
    ],
  });

  describe('toward an openai policy', () => {
    it('chat: a history name OpenAI refuses is a 422 on messages.2.tool_calls.0.function.name, JSON and streamed', async () => {
      await expectRefused(s, 'openai', await call('openai', 'chat/completions', chatHistory('weather.get')), 'messages.2.tool_calls.0.function.name', /a character other than a letter, a digit, _ or -: openai takes tool names of 1 to 64/);
      await expectRefused(s, 'openai', await call('openai', 'chat/completions', chatHistory(LONG_65, true)), 'messages.2.tool_calls.0.function.name', /65 characters long/);
    });

    it('Responses native: a function_call item\'s name is a 422 on input.1.name, JSON and streamed', async () => {
      await expectRefused(s, 'openai', await call('openai', 'responses', responsesHistory('weather.get')), 'input.1.name', /openai takes tool names matching/);
      await expectRefused(s, 'openai', await call('openai', 'responses', responsesHistory('get weather', true)), 'input.1.name', /a character other than/);
    });

    it('Messages translated: a tool_use name Anthropic takes but OpenAI does not is a 422 on messages.3.content.1.name', async () => {
      await expectRefused(s, 'openai', await call('openai', 'messages', messagesHistory(LONG_100)), 'messages.3.content.1.name', /100 characters long: openai takes/);
      await expectRefused(s, 'openai', await call('openai', 'messages', messagesHistory(LONG_100, true)), 'messages.3.content.1.name', /openai takes/);
    });

    it('names the provider takes go as sent', async () => {
      expect((await call('openai', 'chat/completions', chatHistory('d'.repeat(64)))).status).toBe(200);
      expect((await call('openai', 'responses', responsesHistory(LONG_100))).status).toBe(200);
      expect((await call('openai', 'messages', messagesHistory('get-weather_2'))).status).toBe(200);
      const [chat, responses, messages] = s.h.openai.requests.map((r) => r.body as Record<string, any>);
      expect(chat!.messages[2].tool_calls[0].function.name).toBe('d'.repeat(64));
      expect(responses!.input[1].name).toBe(LONG_100);
      expect(messages!.messages[5].tool_calls[0].function.name).toBe('get-weather_2');
    });

    it('openai_compatible has no such rule: dotted and long history names go as sent', async () => {
      expect((await call('openai_compatible', 'chat/completions', chatHistory('weather.get'))).status).toBe(200);
      expect((await call('openai_compatible', 'messages', messagesHistory(LONG_100))).status).toBe(200);
      expect((await call('openai_compatible', 'responses', responsesHistory('a/b'))).status).toBe(200);
    });
  });

  describe('toward an anthropic policy', () => {
    it('Messages native: a tool_use name Anthropic refuses is a 422 on messages.3.content.1.name, JSON and streamed', async () => {
      await expectRefused(s, 'anthropic', await call('anthropic', 'messages', messagesHistory('a b')), 'messages.3.content.1.name', /a character other than a letter, a digit, _ or -: anthropic takes tool names of 1 to 128/);
      await expectRefused(s, 'anthropic', await call('anthropic', 'messages', messagesHistory(LONG_129, true)), 'messages.3.content.1.name', /129 characters long/);
    });

    it('chat translated: a history name is a 422 on messages.2.tool_calls.0.function.name, JSON and streamed', async () => {
      await expectRefused(s, 'anthropic', await call('anthropic', 'chat/completions', chatHistory('weather.get')), 'messages.2.tool_calls.0.function.name', /anthropic takes tool names/);
      await expectRefused(s, 'anthropic', await call('anthropic', 'chat/completions', chatHistory(LONG_129, true)), 'messages.2.tool_calls.0.function.name', /129 characters long/);
    });

    it('Responses translated: a function_call item\'s name is a 422 on input.1.name', async () => {
      await expectRefused(s, 'anthropic', await call('anthropic', 'responses', responsesHistory('a/b')), 'input.1.name', /anthropic takes tool names/);
    });

    it('a 100-character history name (over OpenAI\'s limit, within Anthropic\'s) goes as sent, natively and translated', async () => {
      expect((await call('anthropic', 'messages', messagesHistory(LONG_100))).status).toBe(200);
      expect((await call('anthropic', 'chat/completions', chatHistory(LONG_100))).status).toBe(200);
      expect((await call('anthropic', 'responses', responsesHistory(LONG_100))).status).toBe(200);
      const names = s.h.anthropic.requests.map((r) => (r.body as { messages: Array<{ content: Array<{ type: string; name?: string }> }> }).messages.flatMap((m) => m.content).filter((b) => b.type === 'tool_use').at(-1)!.name);
      expect(names).toEqual([LONG_100, LONG_100, LONG_100]);
    });
  });
});
