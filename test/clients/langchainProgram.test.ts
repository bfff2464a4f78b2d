import { concat } from '@langchain/core/utils/stream';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ToolMessage, type AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import type { RunnableConfig } from '@langchain/core/runnables';
import { ChatOpenAI } from '@langchain/openai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ANSWER_REPLY, ASK, CANDIDATE_ID, FACTS, OTHER_REPLY, PLAN_REPLY, PROGRAM, UNMATCHED_SYSTEM,
  expectProgramRollout, expectedProgramCalls, structuredFormatOf, expectUntouched, pinRollout, recordingFetch, systemPlace, useProgramHarness, type ModuleName, type Wire,
} from '../helpers/programClients.js';
import { systemPromptOf } from '../fakes/fakeUpstream.js';
import type { PolicyProvider } from '../helpers/surfaces.js';

/**
 * LangChain running a three-module program through the proxy URL: each stage a ChatPromptTemplate
 * whose system template is the module's template itself (LangChain fills `{customer}`, `{date}`,
 * `{context}`; the proxy captures them back), `withStructuredOutput` (json_schema and json mode),
 * a bindTools round trip and a StringOutputParser chain, invoked and streamed, with the Responses
 * API and chat completions, against a native upstream and a translated one (Anthropic).
 */
const s = useProgramHarness(['openai', 'anthropic']);
let n = 0;

const template = (name: ModuleName) => PROGRAM.find((m) => m.name === name)!.template;
const prompt = (system: string, human = '{question}') => ChatPromptTemplate.fromMessages([['system', system], ['human', human]]);

/** [provider, useResponsesApi, where the upstream must find the system text] */
const ROWS: Array<[PolicyProvider, boolean, string]> = [
  ['openai', true, 'input:system'],
  ['openai', false, 'messages:system'],
  ['anthropic', true, 'system'],
  ['anthropic', false, 'system'],
];
type RolloutBy = 'path' | 'default-headers' | 'call-options';
/**
 * [streamed, pinned candidate, how the calls name their module, structured output method, where the
 * rollout id goes: the base URL or the client's default headers of a model made per rollout, or the
 * call options of a model made once (`invoke(input, {options: {headers}})`; LangChain drops those
 * headers on every stream, so only invoke)]
 */
const RUNS: Array<[boolean, string, 'template' | 'header', 'jsonSchema' | 'jsonMode', RolloutBy]> = [
  [true, CANDIDATE_ID, 'header', 'jsonSchema', 'path'],
  [false, CANDIDATE_ID, 'template', 'jsonMode', 'call-options'],
  [true, 'baseline', 'template', 'jsonMode', 'default-headers'],
  [false, 'baseline', 'header', 'jsonSchema', 'call-options'],
];

describe.each(ROWS)('LangChain program, provider %s, useResponsesApi %s', (provider, useResponsesApi, place) => {
  it.each(RUNS)('streamed %s, candidate %s, module by %s, %s, rollout id by %s', async (streamed, candidateId, naming, method, rolloutBy) => {
    const job = s.jobs.get(provider)!;
    const rid = `langchain-program-${n++}`;
    await pinRollout(s.h, job, rid, candidateId);
    const wire = recordingFetch();
    // To name modules by header, a model per module (its default headers); the rollout id per RolloutBy.
    const llm = (module?: ModuleName) => chatModel(rolloutBy === 'path' ? `${job.proxyUrl}/${rid}/v1` : `${job.proxyUrl}/v1`, useResponsesApi, wire, {
      ...(naming === 'header' && module ? { 'x-mipro-module': module } : {}),
      ...(rolloutBy === 'default-headers' ? { 'x-mipro-rollout-id': rid } : {}),
    });
    // A chain hands its call options to its model, though a chain's invoke types only RunnableConfig.
    const call = (rolloutBy === 'call-options' ? { options: { headers: { 'x-mipro-rollout-id': rid } } } : {}) as RunnableConfig;
    const customer = 'Ada';
    const date = '2026-12-07';

    const extract = prompt(template('extract')).pipe(llm('extract').withStructuredOutput(z.object({ customer: z.string(), order: z.string() }), { method }));
    const extractInput = { customer, question: ASK.extract };
    const facts = streamed ? await lastOf(await extract.stream(extractInput)) : await extract.invoke(extractInput, call);
    expect(facts).toEqual(FACTS);

    const planModel = llm('plan').bindTools([{ type: 'function', function: { name: 'lookup_order', description: 'Look an order up', parameters: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] } } }]);
    const planTurns: BaseMessage[] = await prompt(template('plan')).formatMessages({ customer, date, question: ASK.plan });
    const turn = async (messages: BaseMessage[]): Promise<AIMessageChunk> => (streamed ? (await lastOf(await planModel.stream(messages), concat))! : planModel.invoke(messages, call));
    const asked = await turn(planTurns);
    expect(asked.tool_calls?.map((c) => [c.name, c.args])).toEqual([['lookup_order', { order: 'A-17' }]]);
    const plan = await turn([...planTurns, asked, new ToolMessage({ tool_call_id: asked.tool_calls![0]!.id!, content: 'A-17: shipped' })]);
    expect(plan.text).toBe(PLAN_REPLY);

    const context = `${facts.customer} ordered ${facts.order}.`;
    const answer = prompt(template('answer')).pipe(llm('answer')).pipe(new StringOutputParser());
    const answerInput = { context, question: ASK.answer };
    expect(streamed ? (await lastOf(await answer.stream(answerInput), (a, b) => a + b)) : await answer.invoke(answerInput, call)).toBe(ANSWER_REPLY);

    const other = prompt(UNMATCHED_SYSTEM).pipe(llm()).pipe(new StringOutputParser());
    expect(streamed ? await lastOf(await other.stream({ question: ASK.other }), (a, b) => a + b) : await other.invoke({ question: ASK.other }, call)).toBe(OTHER_REPLY);

    const upstream = await expectProgramRollout(s, job, rid, candidateId, expectedProgramCalls({ customer, date, context }), wire);
    expect(upstream.map(systemPlace)).toEqual(upstream.map(() => place));
    const format = structuredFormatOf(upstream[0]!.body);
    // Anthropic has no JSON mode: translated, json_object is dropped (docs/API.md).
    expect(format).toBe(method === 'jsonSchema' ? 'json_schema' : provider === 'anthropic' ? undefined : 'json_object');
    // OpenAI refuses json_object unless a message says "json": the candidate's extract text does not, so
    // the proxy adds the line (translated to Anthropic too, where it is all that asks for JSON).
    const jsonLine = method === 'jsonMode' && candidateId === CANDIDATE_ID;
    expect(systemPromptOf(upstream[0]!).endsWith('\n\nRespond in JSON.')).toBe(jsonLine);
    if (provider === 'openai') {
      const policyKeys = useResponsesApi ? ['model', 'temperature', 'max_output_tokens', 'store'] : ['model', 'temperature', 'max_completion_tokens'];
      expectUntouched(wire.sent.at(-1)!.body, upstream.at(-1)!.body, policyKeys);
    }
  });
});

function chatModel(baseURL: string, useResponsesApi: boolean, wire: Wire, defaultHeaders: Record<string, string>): ChatOpenAI {
  return new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'unused', useResponsesApi, maxRetries: 0, configuration: { baseURL, fetch: wire.fetch, defaultHeaders } });
}

/** A stream's last chunk, or its chunks joined. */
async function lastOf<T>(stream: AsyncIterable<T>, join?: (a: T, b: T) => T): Promise<T> {
  let acc: T | undefined;
  for await (const chunk of stream) acc = acc === undefined || join === undefined ? chunk : join(acc, chunk);
  if (acc === undefined) throw new Error('the stream was empty');
  return acc;
}
