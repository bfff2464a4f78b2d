import { Agent, OpenAIProvider, Runner, tool } from '@openai/agents';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { untilToolResult } from '../fakes/fakeBehavior.js';
import { CLIENT_SYSTEM, expectRow, useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * The OpenAI Agents SDK (its default model API is Responses) pointed at the proxy URL: one agent
 * turn that calls a tool and answers from its result, against the openai provider (Responses
 * natively) and openai_compatible (Responses translated to chat completions).
 */
const PROVIDERS: PolicyProvider[] = ['openai', 'openai_compatible'];
const s = useSurfaceHarness(PROVIDERS);
let n = 0;

describe.each(PROVIDERS)('OpenAI Agents SDK, provider %s', (provider) => {
  it('runs one agent turn with a tool', async () => {
    s.h.openai.setBehavior({ reply: 'It is sunny in Paris.', toolCallsFor: untilToolResult([{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }]) });
    const job = s.jobs.get(provider)!;
    const rid = `agents-${n++}`;
    const seen: string[] = [];
    const weather = tool({
      name: 'weather', description: 'Current weather for a city', parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        seen.push(city);
        return `sunny in ${city}`;
      },
    });
    const agent = new Agent({ name: 'Assistant', instructions: CLIENT_SYSTEM, model: 'gpt-4o-mini', tools: [weather] });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}/v1`, useResponses: true }), tracingDisabled: true });
    const result = await runner.run(agent, 'Weather in Paris?');
    expect(seen).toEqual(['Paris']);
    expect(result.finalOutput).toBe('It is sunny in Paris.');
    await expectRow(s.h, job, rid, 'responses', 2);
  });
});
