import { Agent, OpenAIProvider, Runner, tool, type RunContext } from '@openai/agents';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ANSWER_REPLY, ASK, CANDIDATE_ID, FACTS, OTHER_REPLY, PLAN_REPLY, UNMATCHED_SYSTEM,
  expectProgramRollout, expectedProgramCalls, structuredFormatOf, expectUntouched, pinRollout, recordingFetch, systemPlace, useProgramHarness, type ModuleName,
} from '../helpers/programClients.js';
import type { PolicyProvider } from '../helpers/surfaces.js';

/**
 * The OpenAI Agents SDK running a three-module program through the proxy URL: one agent per
 * module, each with an instructions function rendering the run's context (customer, date, the
 * facts found), a structured `outputType` (extract), a tool (plan), and an agent of no module;
 * run and streamed, with Responses (the SDK's default) and chat completions, against a native
 * upstream and translated ones.
 */
const s = useProgramHarness(['openai', 'openai_compatible', 'anthropic']);
let n = 0;

interface Ctx { customer: string; date: string; context: string }

/** [provider, useResponses, where the upstream must find the system text] */
const ROWS: Array<[PolicyProvider, boolean, string]> = [
  ['openai', true, 'instructions'],
  ['openai', false, 'messages:system'],
  ['openai_compatible', true, 'messages:system'],
  ['anthropic', true, 'system'],
];
/** [streamed, pinned candidate, how the calls name their module, where the rollout id goes] */
const RUNS: Array<[boolean, string, 'template' | 'body', 'path' | 'default-headers']> = [
  [true, CANDIDATE_ID, 'body', 'default-headers'],
  [false, CANDIDATE_ID, 'template', 'path'],
  [true, 'baseline', 'template', 'path'],
  [false, 'baseline', 'body', 'default-headers'],
];

describe.each(ROWS)('Agents SDK program, provider %s, useResponses %s', (provider, useResponses, place) => {
  it.each(RUNS)('streamed %s, candidate %s, module by %s, rollout id by %s', async (streamed, candidateId, naming, rolloutBy) => {
    const job = s.jobs.get(provider)!;
    const rid = `agents-program-${n++}`;
    await pinRollout(s.h, job, rid, candidateId);
    const wire = recordingFetch();
    // One client and runner per rollout (the SDK takes no headers per run): the rollout id in the
    // client's base URL or in its default headers.
    const client = rolloutBy === 'path'
      ? new OpenAI({ baseURL: `${job.proxyUrl}/${rid}/v1`, apiKey: 'unused', fetch: wire.fetch, maxRetries: 0 })
      : new OpenAI({ baseURL: `${job.proxyUrl}/v1`, apiKey: 'unused', fetch: wire.fetch, maxRetries: 0, defaultHeaders: { 'x-mipro-rollout-id': rid } });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client, useResponses }), tracingDisabled: true });
    // The module named in the body (`mipro.module`): the SDK spreads providerData into each request.
    const named = (module: ModuleName) => (naming === 'body' ? { modelSettings: { providerData: { mipro: { module } } } } : {});
    const ctx: Ctx = { customer: 'Ada', date: '2026-12-07', context: '' };
    const run = async <T>(agent: Agent<Ctx, any>, input: string): Promise<T> => {
      if (!streamed) return (await runner.run(agent, input, { context: ctx })).finalOutput as T;
      const r = await runner.run(agent, input, { context: ctx, stream: true });
      for await (const _event of r) { /* shown as it comes */ }
      await r.completed;
      return r.finalOutput as T;
    };

    const extractor = new Agent<Ctx, any>({
      name: 'extractor', model: 'gpt-4o-mini', ...named('extract'),
      instructions: (rc: RunContext<Ctx>) => `Extract the order facts for customer ${rc.context.customer}. Reply in JSON.`,
      outputType: z.object({ customer: z.string(), order: z.string() }),
    });
    const facts = await run<typeof FACTS>(extractor, ASK.extract);
    expect(facts).toEqual(FACTS);

    const looked: string[] = [];
    const lookup = tool({ name: 'lookup_order', description: 'Look an order up', parameters: z.object({ order: z.string() }), execute: async ({ order }) => { looked.push(order); return `${order}: shipped`; } });
    const planner = new Agent<Ctx>({
      name: 'planner', model: 'gpt-4o-mini', tools: [lookup], ...named('plan'),
      instructions: (rc: RunContext<Ctx>) => `You plan the support steps for ${rc.context.customer}. Today is ${rc.context.date}. Call tools when useful.`,
    });
    expect(await run<string>(planner, ASK.plan)).toBe(PLAN_REPLY);
    expect(looked).toEqual(['A-17']);

    ctx.context = `${facts.customer} ordered ${facts.order}.`;
    const answerer = new Agent<Ctx>({ name: 'answerer', model: 'gpt-4o-mini', ...named('answer'), instructions: (rc: RunContext<Ctx>) => `Answer the question using only this context:\n${rc.context.context}` });
    expect(await run<string>(answerer, ASK.answer)).toBe(ANSWER_REPLY);
    expect(await run<string>(new Agent<Ctx>({ name: 'translator', model: 'gpt-4o-mini', instructions: UNMATCHED_SYSTEM }), ASK.other)).toBe(OTHER_REPLY);

    const { customer, date, context } = ctx;
    const upstream = await expectProgramRollout(s, job, rid, candidateId, expectedProgramCalls({ customer, date, context }), wire);
    expect(upstream.map(systemPlace)).toEqual(upstream.map(() => place));
    expect(structuredFormatOf(upstream[0]!.body)).toBe('json_schema');
    if (provider === 'openai') {
      const policyKeys = useResponses ? ['model', 'temperature', 'max_output_tokens', 'store'] : ['model', 'temperature', 'max_completion_tokens'];
      expectUntouched(wire.sent.at(-1)!.body, upstream.at(-1)!.body, policyKeys);
    }
  });
});
