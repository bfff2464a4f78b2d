import { HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { untilToolResult } from '../fakes/fakeBehavior.js';
import { CLIENT_SYSTEM, expectRow, startSurfaceHarness, type SurfaceHarness, type SurfaceJob } from '../helpers/surfaces.js';

/**
 * LangChain's ChatOpenAI pointed at the proxy URL with `useResponsesApi` true (Responses) and false
 * (chat completions): invoke, stream and a tool round trip, against the openai provider (Responses
 * spoken natively upstream).
 */
let h: SurfaceHarness;
let job: SurfaceJob;
let n = 0;

beforeAll(async () => {
  h = await startSurfaceHarness();
  job = await h.newJob('openai');
});
afterAll(async () => h.close());
beforeEach(() => {
  h.openai.setBehavior({ reply: 'Paris.' });
  h.openai.requests.length = 0;
});

function chatModel(useResponsesApi: boolean): { llm: ChatOpenAI; rid: string } {
  const rid = `langchain-${n++}`;
  return { llm: new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'unused', useResponsesApi, maxRetries: 0, configuration: { baseURL: `${job.proxyUrl}/${rid}/v1` } }), rid };
}

const question = [new SystemMessage(CLIENT_SYSTEM), new HumanMessage('Capital of France?')];

describe.each([true, false])('LangChain ChatOpenAI, useResponsesApi %s', (useResponsesApi) => {
  const surface = useResponsesApi ? 'responses' : 'chat';

  it('invoke', async () => {
    const { llm, rid } = chatModel(useResponsesApi);
    const r = await llm.invoke(question);
    expect(r.text).toBe('Paris.');
    await expectRow(h, job, rid, surface, 1, 'input');
  });

  it('stream', async () => {
    const { llm, rid } = chatModel(useResponsesApi);
    let text = '';
    for await (const chunk of await llm.stream(question)) text += chunk.text;
    expect(text).toBe('Paris.');
    await expectRow(h, job, rid, surface, 1, 'input');
  });

  it('a tool round trip with bindTools', async () => {
    h.openai.setBehavior({ reply: 'Sunny.', toolCallsFor: untilToolResult([{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }]) });
    const { llm, rid } = chatModel(useResponsesApi);
    const withTools = llm.bindTools([{ type: 'function', function: { name: 'weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }]);
    const first = await withTools.invoke(question);
    expect(first.tool_calls?.map((c) => [c.name, c.args])).toEqual([['weather', { city: 'Paris' }]]);
    const second = await withTools.invoke([...question, first, new ToolMessage({ tool_call_id: first.tool_calls![0]!.id!, content: 'sunny' })]);
    expect(second.text).toBe('Sunny.');
    await expectRow(h, job, rid, surface, 2, 'input');
  });
});
