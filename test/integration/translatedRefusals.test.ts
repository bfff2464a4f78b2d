import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { CLIENT_SYSTEM, useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * A chat-completions model's refusal (`message.refusal` with `content: null`, or `delta.refusal` in a
 * stream) reaching a client of another API through translation: the official SDKs must read it as
 * their API's own refusal (Messages: the text with stop_reason "refusal"; Responses: a `refusal`
 * content part), not as an empty answer.
 */
const PROVIDERS: PolicyProvider[] = ['openai', 'openai_compatible'];
const s = useSurfaceHarness(PROVIDERS);
const REFUSAL = "I'm sorry, I can't help with that.";
let n = 0;

function refuse(): void {
  s.h.openai.setBehavior({ reply: 'unused', refusal: REFUSAL });
}

describe.each(PROVIDERS)('a chat refusal through translation, provider %s', (provider) => {
  const base = (rid: string) => `${s.jobs.get(provider)!.proxyUrl}/${rid}`;

  it('@anthropic-ai/sdk: messages.create and messages.stream get the refusal text with stop_reason "refusal"', async () => {
    refuse();
    const anthropic = new Anthropic({ apiKey: 'unused', baseURL: base(`refusal-m-${n++}`), maxRetries: 0 });
    const request = { model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user' as const, content: 'Something harmful' }] };
    const json = await anthropic.messages.create(request);
    expect({ content: json.content, stop_reason: json.stop_reason }).toEqual({ content: [{ type: 'text', text: REFUSAL }], stop_reason: 'refusal' });
    const streamed = await anthropic.messages.stream(request).finalMessage();
    expect({ content: streamed.content, stop_reason: streamed.stop_reason }).toEqual({ content: [{ type: 'text', text: REFUSAL }], stop_reason: 'refusal' });
  });
});

// Responses is native with openai (the answer is relayed as written); translated with a chat-only server.
describe('a chat refusal through translation to Responses, provider openai_compatible', () => {
  const base = (rid: string) => `${s.jobs.get('openai_compatible')!.proxyUrl}/${rid}`;

  it('openai SDK: responses.create and responses.stream get a refusal content part', async () => {
    refuse();
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${base(`refusal-r-${n++}`)}/v1`, maxRetries: 0 });
    const request = { model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM, input: 'Something harmful' };
    const json = await openai.responses.create(request);
    expect(json.output).toMatchObject([{ type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: REFUSAL }] }]);
    const stream = openai.responses.stream(request);
    const deltas: string[] = [];
    stream.on('response.refusal.delta', (e) => deltas.push(e.delta));
    const streamed = await stream.finalResponse();
    expect(deltas.join('')).toBe(REFUSAL);
    expect(streamed.output).toMatchObject([{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'refusal', refusal: REFUSAL }] }]);
  });
});

describe('the call record of a refused answer', () => {
  it('keeps the refusal as the call\'s output, JSON and streamed, on chat completions and translated to Messages', async () => {
    refuse();
    const job = s.jobs.get('openai')!;
    const rid = `refusal-rec-${n++}`;
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}/v1`, maxRetries: 0 });
    const messages = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'Something harmful' }];
    expect((await openai.chat.completions.create({ model: 'gpt-4o-mini', messages })).choices[0]!.message.refusal).toBe(REFUSAL);
    expect((await openai.chat.completions.stream({ model: 'gpt-4o-mini', messages }).finalChatCompletion()).choices[0]!.message.refusal).toBe(REFUSAL);
    const anthropic = new Anthropic({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}`, maxRetries: 0 });
    await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Something harmful' }] });
    const { rollout } = await s.h.served(job, rid, 3);
    expect(rollout.calls.map((c: { output_text: string; failed: boolean }) => [c.output_text, c.failed])).toEqual([[REFUSAL, false], [REFUSAL, false], [REFUSAL, false]]);
  });
});
