import { Agent, OpenAIProvider, Runner, tool } from '@openai/agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { untilToolResult } from '../fakes/fakeBehavior.js';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A Responses conversation sent back by an agent loop holds the model's turn as items: its text
 * (a `message` item) and then its calls (`function_call` items). Translated to chat completions that
 * is one assistant message with `content` and `tool_calls`, as OpenAI's own chat API writes such a
 * turn, not two assistant messages in a row (which servers whose chat template needs alternating
 * roles refuse, and which no chat model ever produced).
 */
const s = useSurfaceHarness(['openai_compatible']);

describe('an agent turn with text and a tool call, translated to chat completions', () => {
  it('goes upstream as one assistant message carrying the text and the call', async () => {
    s.h.openai.setBehavior({ reply: 'Let me check.', toolCallsFor: untilToolResult([{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }]) });
    const job = s.jobs.get('openai_compatible')!;
    const weather = tool({ name: 'weather', description: 'Current weather', parameters: z.object({ city: z.string() }), execute: async ({ city }) => `sunny in ${city}` });
    const agent = new Agent({ name: 'Assistant', instructions: CLIENT_SYSTEM, model: 'gpt-4o-mini', tools: [weather] });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ apiKey: 'unused', baseURL: `${job.proxyUrl}/agent-turn/v1`, useResponses: true }), tracingDisabled: true });
    await runner.run(agent, 'Weather in Paris?');
    const second = s.h.openai.requests[1]!.body as { messages: Array<{ role: string; content: unknown; tool_calls?: unknown[] }> };
    expect(second.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(second.messages[2]).toMatchObject({ role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'call_w1', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] });
  });
});
