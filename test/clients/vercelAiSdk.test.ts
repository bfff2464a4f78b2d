import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, stepCountIs, streamText, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { untilToolResult } from '../fakes/fakeBehavior.js';
import { CLIENT_SYSTEM, expectRow, useSurfaceHarness, type PolicyProvider, type SurfaceName } from '../helpers/surfaces.js';

/**
 * The Vercel AI SDK pointed at the proxy URL: the default `openai(model)` (Responses) and
 * `openai.chat(model)` (chat completions), with generateText, streamText, a two-step tool loop and
 * generateObject; against an upstream that speaks Responses natively (openai) and one reached
 * through chat completions (openai_compatible).
 */
const PROVIDERS: PolicyProvider[] = ['openai', 'openai_compatible'];
const s = useSurfaceHarness(PROVIDERS);
let n = 0;

type Flavour = 'responses' | 'chat';

function model(provider: PolicyProvider, flavour: Flavour) {
  const job = s.jobs.get(provider)!;
  const rid = `vercel-${n++}`;
  const openai = createOpenAI({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}/v1` });
  // The AI SDK sends its instructions as a system message in `input`, where a native upstream gets the candidate too.
  return { model: flavour === 'chat' ? openai.chat('gpt-4o-mini') : openai('gpt-4o-mini'), rid, job, surface: flavour as SurfaceName };
}

const ROWS = PROVIDERS.flatMap((p) => (['responses', 'chat'] as const).map((f) => [p, f] as const));

describe.each(ROWS)('AI SDK, provider %s, %s model', (provider, flavour) => {
  it('generateText', async () => {
    const m = model(provider, flavour);
    const r = await generateText({ model: m.model, system: CLIENT_SYSTEM, prompt: 'Capital of France?', maxRetries: 0 });
    expect(r.text).toBe('Paris.');
    expect(r.usage.outputTokens).toBeGreaterThan(0);
    await expectRow(s.h, m.job, m.rid, m.surface, 1, 'input');
  });

  it('streamText', async () => {
    const m = model(provider, flavour);
    const r = streamText({ model: m.model, system: CLIENT_SYSTEM, prompt: 'Capital of France?', maxRetries: 0 });
    let text = '';
    for await (const delta of r.textStream) text += delta;
    expect(text).toBe('Paris.');
    expect((await r.usage).outputTokens).toBeGreaterThan(0);
    await expectRow(s.h, m.job, m.rid, m.surface, 1, 'input');
  });

  it('a two-step tool loop', async () => {
    s.h.openai.setBehavior({ reply: 'Sunny.', toolCallsFor: untilToolResult([{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }]) });
    const m = model(provider, flavour);
    const seen: string[] = [];
    const r = await generateText({
      model: m.model, system: CLIENT_SYSTEM, prompt: 'Weather in Paris?', maxRetries: 0, stopWhen: stepCountIs(2),
      tools: { weather: tool({ description: 'Current weather', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => { seen.push(city); return `sunny in ${city}`; } }) },
    });
    expect(seen).toEqual(['Paris']);
    expect(r.steps).toHaveLength(2);
    expect(r.text).toBe('Sunny.');
    await expectRow(s.h, m.job, m.rid, m.surface, 2, 'input');
  });

  it('generateObject', async () => {
    s.h.openai.setBehavior({ reply: '{"city":"Paris"}' });
    const m = model(provider, flavour);
    const r = await generateObject({ model: m.model, system: CLIENT_SYSTEM, prompt: 'Which city?', schema: z.object({ city: z.string() }), maxRetries: 0 });
    expect(r.object).toEqual({ city: 'Paris' });
    const sent = s.h.openai.requests[0]!.body as Record<string, any>;
    // The schema reached the upstream as a structured-output format (text.format natively, response_format in chat).
    expect(sent.text?.format?.type ?? sent.response_format?.type).toBe('json_schema');
    await expectRow(s.h, m.job, m.rid, m.surface, 1, 'input');
  });
});
