import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, stepCountIs, streamObject, streamText, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ANSWER_REPLY, ASK, CANDIDATE_ID, FACTS, OTHER_REPLY, PLAN_REPLY, UNMATCHED_SYSTEM,
  expectProgramRollout, expectedProgramCalls, structuredFormatOf, expectUntouched, pinRollout, recordingFetch, systemPlace, useProgramHarness, type ModuleName,
} from '../helpers/programClients.js';
import type { PolicyProvider } from '../helpers/surfaces.js';

/**
 * The Vercel AI SDK running a three-module program through the proxy URL: `system:` strings built
 * with template literals, generateObject / streamObject with a zod schema (extract), a tool loop
 * with stopWhen (plan), generateText / streamText (answer), and a call of no module. The default
 * `openai()` (Responses) and `openai.chat()`, a chat model and a reasoning model (whose system text
 * the SDK sends as a `developer` message), against a native upstream and translated ones.
 */
const s = useProgramHarness(['openai', 'openai_compatible', 'anthropic']);
let n = 0;

type Flavour = 'responses' | 'chat';
/** [provider, flavour, model the app names, where the upstream must find the system text] */
const ROWS: Array<[PolicyProvider, Flavour, string, string]> = [
  ['openai', 'responses', 'gpt-4o-mini', 'input:system'],
  ['openai', 'responses', 'gpt-5-mini', 'input:developer'],
  ['openai', 'chat', 'gpt-4o-mini', 'messages:system'],
  ['openai', 'chat', 'gpt-5-mini', 'messages:developer'],
  ['openai_compatible', 'responses', 'gpt-5-mini', 'messages:developer'],
  ['anthropic', 'responses', 'gpt-4o-mini', 'system'],
  ['anthropic', 'chat', 'gpt-5-mini', 'system'],
];
/** [streamed, pinned candidate, how the calls name their module, where the rollout id goes] */
const RUNS: Array<[boolean, string, 'template' | 'header', 'path' | 'header']> = [
  [true, CANDIDATE_ID, 'header', 'header'],
  [false, CANDIDATE_ID, 'template', 'path'],
  [true, 'baseline', 'template', 'path'],
  [false, 'baseline', 'header', 'header'],
];

/** streamObject settles `object` only once its stream was read, as an app showing partial objects does. */
async function streamedObject<T>(args: Parameters<typeof streamObject<z.ZodType<T>>>[0]): Promise<T> {
  const r = streamObject(args);
  for await (const _partial of r.partialObjectStream) { /* shown as it grows */ }
  return r.object;
}

describe.each(ROWS)('AI SDK program, provider %s, %s, model %s', (provider, flavour, modelId, place) => {
  it.each(RUNS)('streamed %s, candidate %s, module by %s, rollout id in the %s', async (streamed, candidateId, naming, rolloutBy) => {
    const job = s.jobs.get(provider)!;
    const rid = `vercel-program-${n++}`;
    await pinRollout(s.h, job, rid, candidateId);
    const wire = recordingFetch();
    // The rollout id in the base URL (a provider per rollout), or per call in a header (a provider
    // made once); either way every call of the run shares the rollout's candidate.
    const openai = createOpenAI({ apiKey: 'unused', baseURL: rolloutBy === 'path' ? `${job.proxyUrl}/${rid}/v1` : `${job.proxyUrl}/v1`, fetch: wire.fetch });
    const model = flavour === 'chat' ? openai.chat(modelId) : openai(modelId);
    const rollout = rolloutBy === 'header' ? { 'x-mipro-rollout-id': rid } : {};
    const named = (module?: ModuleName) => ({ headers: { ...rollout, ...(naming === 'header' && module ? { 'x-mipro-module': module } : {}) } });
    const customer = 'Ada';
    const date = '2026-12-07';

    const extractSystem = `Extract the order facts for customer ${customer}. Reply in JSON.`;
    const schema = z.object({ customer: z.string(), order: z.string() });
    const extractArgs = { model, system: extractSystem, prompt: ASK.extract, schema, maxRetries: 0, ...named('extract') };
    const facts = streamed ? await streamedObject(extractArgs) : (await generateObject(extractArgs)).object;
    expect(facts).toEqual(FACTS);

    const looked: string[] = [];
    const planArgs = {
      model, system: `You plan the support steps for ${customer}. Today is ${date}. Call tools when useful.`, prompt: ASK.plan,
      maxRetries: 0, stopWhen: stepCountIs(3), ...named('plan'),
      tools: { lookup_order: tool({ description: 'Look an order up', inputSchema: z.object({ order: z.string() }), execute: async ({ order }) => { looked.push(order); return `${order}: shipped`; } }) },
    };
    const plan = streamed ? await streamText(planArgs).text : (await generateText(planArgs)).text;
    expect(plan).toBe(PLAN_REPLY);
    expect(looked).toEqual(['A-17']);

    const context = `${facts.customer} ordered ${facts.order}.`;
    const answerArgs = { model, system: `Answer the question using only this context:\n${context}`, prompt: ASK.answer, maxRetries: 0, ...named('answer') };
    expect(streamed ? await streamText(answerArgs).text : (await generateText(answerArgs)).text).toBe(ANSWER_REPLY);

    const otherArgs = { model, system: UNMATCHED_SYSTEM, prompt: ASK.other, maxRetries: 0, ...named() };
    expect(streamed ? await streamText(otherArgs).text : (await generateText(otherArgs)).text).toBe(OTHER_REPLY);

    const upstream = await expectProgramRollout(s, job, rid, candidateId, expectedProgramCalls({ customer, date, context }), wire);
    expect(upstream.map(systemPlace)).toEqual(upstream.map(() => place));
    // The structured output's schema reached the upstream (text.format, response_format, or Anthropic's output_config).
    expect(structuredFormatOf(upstream[0]!.body)).toBe('json_schema');
    if (provider === 'openai') {
      const policyKeys = flavour === 'chat' ? ['model', 'temperature', 'max_completion_tokens'] : ['model', 'temperature', 'max_output_tokens', 'store'];
      expectUntouched(wire.sent.at(-1)!.body, upstream.at(-1)!.body, policyKeys);
    }
  });
});
