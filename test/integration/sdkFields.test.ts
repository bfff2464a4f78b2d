import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, expectRefused, useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * Fields the public SDKs send (openai 6 `chat.completions` / `responses`, @anthropic-ai/sdk 1
 * `messages`) that the proxy answered with a 500, a 422 their API does not give, dropped where chat
 * completions has the same field, or carried where the provider has no such step (docs/API.md,
 * "What the SDKs send").
 */
const s = useSurfaceHarness(['openai', 'anthropic', 'openai_compatible']);
let n = 0;

async function call(provider: PolicyProvider, surface: string, body: Record<string, unknown>): Promise<{ status: number; body: any; rid: string }> {
  const rid = `sdk-fields-${n++}`;
  const res = await api(s.jobs.get(provider)!.proxyUrl, 'POST', `/${rid}/${surface}`, { body: { model: 'm', ...body } });
  return { status: res.status, body: res.body, rid };
}


const ok = (res: { status: number; body: unknown }): void => {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
};
const sentTo = (provider: PolicyProvider): Record<string, any> => s.h.upstreamOf(provider).at(-1)!.body as Record<string, any>;
const chatQuestion = [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Capital of France?' }];
const responsesQuestion = { instructions: CLIENT_SYSTEM, input: 'Capital of France?' };
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('chat `stream: null` (the openai SDK types it boolean | null)', () => {
  it.each(['openai', 'anthropic', 'openai_compatible'] as const)('is a JSON call on %s, not a 422', async (provider) => {
    const res = await call(provider, 'chat/completions', { messages: chatQuestion, stream: null });
    ok(res);
    expect(res.body.object).toBe('chat.completion');
  });
});

describe('a null element in a tool result\'s content was a 500', () => {
  it('Messages translated: a 422 on the tool_result\'s content block', async () => {
    const res = await call('openai', 'messages', {
      max_tokens: 50, system: CLIENT_SYSTEM, tools: [{ name: 'f', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [null] }] },
      ],
    });
    await expectRefused(s, 'openai', res, 'messages.2.content.0.content.0.type', /only text tool results/);
  });

  it('Responses translated: a 422 on the function_call_output\'s output part', async () => {
    const res = await call('anthropic', 'responses', {
      instructions: CLIENT_SYSTEM, tools: [{ type: 'function', name: 'f', parameters: null }],
      input: [{ role: 'user', content: 'Hi' }, { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: [null] }],
    });
    await expectRefused(s, 'anthropic', res, 'input.2.output.0', /only text output parts/);
  });
});

describe('Messages tools without a name (toolsets)', () => {
  const mcp = { mcp_servers: [{ type: 'url', url: 'https://mcp.example.com/sse', name: 'docs' }], tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs' }] };
  const body = { max_tokens: 50, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Search the docs.' }] };

  it('natively, an mcp_toolset (what the MCP connector needs) goes to Anthropic as sent; it was a 422 on tools.0.name', async () => {
    ok(await call('anthropic', 'messages', { ...body, ...mcp }));
    expect(sentTo('anthropic')).toMatchObject(mcp);
  });

  it('translated it is a 422 on the tool\'s type, as any server tool', async () => {
    await expectRefused(s, 'openai', await call('openai', 'messages', { ...body, tools: mcp.tools }), 'tools.0.type', /"mcp_toolset" \(a server tool\) needs Anthropic itself/);
  });

  it('a custom tool still needs its name', async () => {
    await expectRefused(s, 'anthropic', await call('anthropic', 'messages', { ...body, tools: [{ input_schema: { type: 'object' } }] }), 'tools.0.name', /is required/);
  });
});

describe('safety_identifier (what replaced `user` in the openai SDK) toward an anthropic policy', () => {
  it.each([false, true])('chat: goes as metadata.user_id, an email as its SHA-256, before `user` (stream %s)', async (stream) => {
    ok(await call('anthropic', 'chat/completions', { messages: chatQuestion, stream, safety_identifier: 'ann@example.com', user: 'legacy-user' }));
    expect(sentTo('anthropic').metadata).toEqual({ user_id: sha256('ann@example.com') });
  });

  it('chat: an opaque one goes as it is', async () => {
    ok(await call('anthropic', 'chat/completions', { messages: chatQuestion, safety_identifier: 'user-7f3a' }));
    expect(sentTo('anthropic').metadata).toEqual({ user_id: 'user-7f3a' });
  });

  it('Responses translated: goes as metadata.user_id too (it was dropped)', async () => {
    ok(await call('anthropic', 'responses', { ...responsesQuestion, safety_identifier: 'user-7f3a' }));
    expect(sentTo('anthropic').metadata).toEqual({ user_id: 'user-7f3a' });
  });

  it.each([
    ['chat/completions', 'safety_identifier', { messages: chatQuestion, safety_identifier: 5 }],
    ['chat/completions', 'user', { messages: chatQuestion, user: { id: 'u1' } }],
    ['responses', 'safety_identifier', { ...responsesQuestion, safety_identifier: ['u1'] }],
  ] as const)('%s: a non-string %s is a 422 on its field (it was silently dropped)', async (surface, path, body) => {
    await expectRefused(s, 'anthropic', await call('anthropic', surface, body), path, /string/);
  });

  it('null is no identifier, on both surfaces', async () => {
    ok(await call('anthropic', 'chat/completions', { messages: chatQuestion, safety_identifier: null, user: 'legacy-user' }));
    expect(sentTo('anthropic').metadata).toEqual({ user_id: 'legacy-user' });
    ok(await call('anthropic', 'responses', { ...responsesQuestion, safety_identifier: null }));
    expect(sentTo('anthropic').metadata).toBeUndefined();
  });

  it('Responses translated to a chat server: goes as chat\'s safety_identifier', async () => {
    ok(await call('openai_compatible', 'responses', { ...responsesQuestion, safety_identifier: 'user-7f3a' }));
    expect(sentTo('openai_compatible').safety_identifier).toBe('user-7f3a');
  });
});

describe('moderation (moderated completions, run by OpenAI)', () => {
  const moderation = { model: 'omni-moderation-latest', policy: { input: { mode: 'block' }, output: { mode: 'block' } } };

  it('chat to an anthropic policy is a 422 on moderation: dropped, the answer went unscreened', async () => {
    await expectRefused(s, 'anthropic', await call('anthropic', 'chat/completions', { messages: chatQuestion, moderation }), 'moderation', /anthropic has no such step/);
  });

  it.each(['anthropic', 'openai_compatible'] as const)('Responses translated for %s is a 422 on moderation', async (provider) => {
    await expectRefused(s, provider, await call(provider, 'responses', { ...responsesQuestion, moderation }), 'moderation', /need an upstream that speaks the Responses API/);
  });

  it('goes as sent where OpenAI gets the client\'s own API: chat to openai, Responses natively', async () => {
    ok(await call('openai', 'chat/completions', { messages: chatQuestion, moderation }));
    expect(sentTo('openai').moderation).toEqual(moderation);
    ok(await call('openai', 'responses', { ...responsesQuestion, moderation }));
    expect(sentTo('openai').moderation).toEqual(moderation);
  });
});

describe('Responses reasoning.effort and text.verbosity translated', () => {
  it.each([false, true])('go to a chat server as reasoning_effort and verbosity (stream %s)', async (stream) => {
    ok(await call('openai_compatible', 'responses', { ...responsesQuestion, stream, reasoning: { effort: 'high', summary: 'auto' }, text: { verbosity: 'low' } }));
    expect(sentTo('openai_compatible')).toMatchObject({ reasoning_effort: 'high', verbosity: 'low' });
  });

  it('toward anthropic neither is sent (no Messages field of that meaning for every model; docs/API.md)', async () => {
    ok(await call('anthropic', 'responses', { ...responsesQuestion, reasoning: { effort: 'high' }, text: { verbosity: 'low' } }));
    const sent = sentTo('anthropic');
    expect(sent).not.toHaveProperty('output_config');
    expect(sent).not.toHaveProperty('reasoning_effort');
    expect(sent).not.toHaveProperty('verbosity');
  });

  it('natively the client\'s own fields go as sent', async () => {
    ok(await call('openai', 'responses', { ...responsesQuestion, reasoning: { effort: 'high' }, text: { verbosity: 'low' } }));
    expect(sentTo('openai')).toMatchObject({ reasoning: { effort: 'high' }, text: { verbosity: 'low' } });
    expect(sentTo('openai')).not.toHaveProperty('reasoning_effort');
  });
});

describe('tool call ids Anthropic refuses (outside ^[a-zA-Z0-9_-]+$) toward an anthropic policy', () => {
  // Ids other providers wrote (Kimi's `functions.get_weather:0`): chat completions takes any string.
  const ODD = 'functions.get_weather:0';
  const toolUses = (): Array<{ type: string; id?: string; tool_use_id?: string }> => (sentTo('anthropic').messages as Array<{ content: Array<{ type: string; id?: string; tool_use_id?: string }> }>)
    .flatMap((m) => m.content).filter((b) => b.type === 'tool_use' || b.type === 'tool_result');

  it.each([false, true])('chat: go as an allowed id, the same on the call and its result (stream %s)', async (stream) => {
    ok(await call('anthropic', 'chat/completions', {
      stream, tools: [{ type: 'function', function: { name: 'get_weather', parameters: {} } }],
      messages: [
        ...chatQuestion,
        { role: 'assistant', content: null, tool_calls: [{ id: ODD, type: 'function', function: { name: 'get_weather', arguments: '{}' } }, { id: 'call_ok', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: ODD, content: 'Sunny.' },
        { role: 'tool', tool_call_id: 'call_ok', content: 'Rainy.' },
      ],
    }));
    const [use, useOk, result, resultOk] = toolUses();
    expect(use!.id).toMatch(/^functions_get_weather_0_[0-9a-f]{16}$/);
    expect(result!.tool_use_id).toBe(use!.id);
    expect([useOk!.id, resultOk!.tool_use_id]).toEqual(['call_ok', 'call_ok']);
  });

  it('Responses translated: a function_call\'s call_id likewise', async () => {
    ok(await call('anthropic', 'responses', {
      instructions: CLIENT_SYSTEM, tools: [{ type: 'function', name: 'get_weather', parameters: {} }],
      input: [{ role: 'user', content: 'Weather?' }, { type: 'function_call', call_id: 'fc/1', name: 'get_weather', arguments: '{}' }, { type: 'function_call_output', call_id: 'fc/1', output: 'Sunny.' }],
    }));
    const [use, result] = toolUses();
    expect(use!.id).toMatch(/^fc_1_[0-9a-f]{16}$/);
    expect(result!.tool_use_id).toBe(use!.id);
  });
});
