import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A tool call without arguments (a tool with no parameters) streamed by Anthropic: its tool_use
 * block carries `input: {}` and no argument text. Translated to chat completions (and from there to
 * Responses) the call's arguments must be the JSON text `{}`, as OpenAI sends them and as the
 * non-streamed translation gives: the openai SDK's stream helpers parse the arguments of a strict
 * tool, and `""` is no JSON.
 */
const s = useSurfaceHarness(['anthropic']);
const NO_PARAMETERS = { type: 'object', properties: {}, required: [], additionalProperties: false };
let n = 0;

describe('an argumentless tool call streamed by an anthropic policy', () => {
  it('reaches chat completions and Responses clients with arguments "{}", streamed as in JSON', async () => {
    s.h.anthropic.setBehavior({ reply: '', toolCalls: [{ id: 'toolu_t1', name: 'get_time', arguments: '{}' }] });
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${s.jobs.get('anthropic')!.proxyUrl}/argless-${n++}/v1`, maxRetries: 0 });
    const messages = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'What time is it?' }];
    const tools = [{ type: 'function' as const, function: { name: 'get_time', parameters: NO_PARAMETERS, strict: true } }];
    const json = await openai.chat.completions.create({ model: 'claude-haiku-4-5', messages, tools });
    expect(json.choices[0]!.message.tool_calls).toMatchObject([{ id: 'toolu_t1', function: { name: 'get_time', arguments: '{}' } }]);
    const streamed = await openai.chat.completions.stream({ model: 'claude-haiku-4-5', messages, tools }).finalChatCompletion();
    expect(streamed.choices[0]!.message.tool_calls).toMatchObject([{ id: 'toolu_t1', function: { name: 'get_time', arguments: '{}', parsed_arguments: {} } }]);
    const response = await openai.responses.stream({
      model: 'claude-haiku-4-5', instructions: CLIENT_SYSTEM, input: 'What time is it?',
      tools: [{ type: 'function', name: 'get_time', parameters: NO_PARAMETERS, strict: true }],
    }).finalResponse();
    expect(response.output).toMatchObject([{ type: 'function_call', call_id: 'toolu_t1', name: 'get_time', arguments: '{}' }]);
  });
});

/**
 * The same call from a chat-completions upstream that sends no argument text at all (some
 * OpenAI-compatible servers do for a tool without parameters): the Responses answer, JSON or
 * streamed, still carries the JSON text `{}`, which OpenAI's Responses API always sends.
 */
const compatible = useSurfaceHarness(['openai_compatible']);

describe('an argumentless tool call from a chat-completions upstream that sends no argument text', () => {
  it('reaches Responses clients with arguments "{}", JSON and streamed', async () => {
    compatible.h.openai.setBehavior({ reply: '', toolCalls: [{ id: 'call_t1', name: 'get_time', arguments: '' }] });
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${compatible.jobs.get('openai_compatible')!.proxyUrl}/argless-compat-${n++}/v1`, maxRetries: 0 });
    const ask = {
      model: 'local-model', instructions: CLIENT_SYSTEM, input: 'What time is it?',
      tools: [{ type: 'function' as const, name: 'get_time', parameters: NO_PARAMETERS, strict: true }],
    };
    const json = await openai.responses.create(ask);
    expect(json.output).toMatchObject([{ type: 'function_call', call_id: 'call_t1', name: 'get_time', arguments: '{}' }]);
    const streamed = await openai.responses.stream(ask).finalResponse();
    expect(streamed.output).toMatchObject([{ type: 'function_call', call_id: 'call_t1', name: 'get_time', arguments: '{}' }]);
  });
});
