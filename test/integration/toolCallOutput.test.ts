import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A tool loop's rollout record: an answer that called a tool is recorded as `name(arguments)` text,
 * which the rollout view (and the dashboard's rollout page) showed like any text answer. The view's
 * `output_tool_calls` says how many of its lines are tool calls, on every surface.
 */
const s = useSurfaceHarness(['openai', 'anthropic']);

describe('the rollout view tells a tool-calling answer from a text answer', () => {
  it('counts the tool calls of each call\'s answer (chat on openai, Messages on anthropic, streamed or not)', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
    const chatJob = s.jobs.get('openai')!;
    s.h.openai.setBehavior({ reply: '', toolCalls: [{ id: 'call_1', name: 'search', arguments: '{"q":"refunds"}' }] });
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${chatJob.proxyUrl}/loop-chat`, maxRetries: 0 });
    const question = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'Refund policy?' }];
    const first = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: question, tools });
    const calls = first.choices[0]!.message.tool_calls!;
    s.h.openai.setBehavior({ reply: 'search(refunds) is what I would call.', toolCalls: [] });
    await openai.chat.completions.stream({
      model: 'gpt-4o-mini', tools,
      messages: [...question, { role: 'assistant', content: null, tool_calls: calls }, { role: 'tool', tool_call_id: calls[0]!.id, content: '30 days' }],
    }).finalChatCompletion();
    const chat = await s.h.served(chatJob, 'loop-chat', 2);
    expect(chat.rollout.calls.map((c: Record<string, unknown>) => [c.output_text, c.output_tool_calls])).toEqual([
      ['search({"q":"refunds"})', 1],
      // A text answer that merely looks like a call is not one.
      ['search(refunds) is what I would call.', 0],
    ]);

    const messagesJob = s.jobs.get('anthropic')!;
    s.h.anthropic.setBehavior({ reply: '', toolCalls: [{ id: 'toolu_1', name: 'search', arguments: '{"q":"a"}' }, { id: 'toolu_2', name: 'search', arguments: '{"q":"b"}' }] });
    const anthropic = new Anthropic({ apiKey: 'unused', baseURL: `${messagesJob.proxyUrl}/loop-messages`, maxRetries: 0 });
    await anthropic.messages.stream({
      model: 'claude-haiku-4-5', max_tokens: 64, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Refund policy?' }],
      tools: [{ name: 'search', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }],
    }).finalMessage();
    const messages = await s.h.served(messagesJob, 'loop-messages');
    expect(messages.rollout.calls[0]).toMatchObject({ output_tool_calls: 2 });
  });
});
