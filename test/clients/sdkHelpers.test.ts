import Anthropic from '@anthropic-ai/sdk';
import { betaZodTool } from '@anthropic-ai/sdk/helpers/beta/zod';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { untilToolResult } from '../fakes/fakeBehavior.js';
import type { FakeBehavior } from '../fakes/fakeUpstream.js';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, expectRow, useSurfaceHarness, type PolicyProvider, type SurfaceJob } from '../helpers/surfaces.js';

/**
 * The SDK helpers apps build on, beyond the plain calls of openaiSdk.test.ts and
 * anthropicSdk.test.ts: openai's runTools, parse (zodResponseFormat, zodTextFormat), the stream
 * helper, reading miprox's answer headers, retries and timeouts; Anthropic's beta toolRunner and
 * system blocks with cache_control. Each against every provider.
 */
const PROVIDERS: PolicyProvider[] = ['openai', 'openai_compatible', 'anthropic'];
const s = useSurfaceHarness(PROVIDERS);
let n = 0;

const CITY = z.object({ city: z.string() });
const MESSAGES = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'Weather in Paris?' }];

function behave(patch: Partial<FakeBehavior>): void {
  s.h.openai.setBehavior(patch);
  s.h.anthropic.setBehavior(patch);
}

/** A tool call until the conversation holds its result, then the answer (no text beside the call). */
function toolLoop(): void {
  const calls = untilToolResult([{ id: 'toolu_w1', name: 'weather', arguments: '{"city":"Paris"}' }]);
  behave({ reply: (req) => (calls(req) ? '' : 'It is sunny.'), toolCallsFor: calls });
}

function openai(provider: PolicyProvider, opts: { maxRetries?: number; timeout?: number } = {}): { client: OpenAI; rid: string; job: SurfaceJob } {
  const job = s.jobs.get(provider)!;
  const rid = `sdk-helpers-${n++}`;
  return { client: new OpenAI({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}/v1`, maxRetries: 0, ...opts }), rid, job };
}

function anthropic(provider: PolicyProvider): { client: Anthropic; rid: string; job: SurfaceJob } {
  const job = s.jobs.get(provider)!;
  const rid = `sdk-helpers-${n++}`;
  return { client: new Anthropic({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}`, maxRetries: 0 }), rid, job };
}

async function rollout(job: SurfaceJob, rid: string): Promise<{ status: string; calls: Array<{ failed: boolean }> }> {
  return (await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).body;
}

describe.each(PROVIDERS)('openai SDK helpers, provider %s', (provider) => {
  it('chat.completions.runTools with a zodFunction runs the tool and answers', async () => {
    toolLoop();
    const { client, rid, job } = openai(provider);
    const cities: string[] = [];
    const runner = client.chat.completions.runTools({
      model: 'gpt-4o-mini', messages: MESSAGES,
      tools: [zodFunction({ name: 'weather', parameters: CITY, function: ({ city }: { city: string }) => (cities.push(city), 'sunny') })],
    });
    expect(await runner.finalContent()).toBe('It is sunny.');
    expect(cities).toEqual(['Paris']);
    await expectRow(s.h, job, rid, 'chat', 2);
  });

  it('chat.completions.parse and the stream helper with zodResponseFormat', async () => {
    behave({ reply: '{"city":"Paris"}' });
    const { client, rid, job } = openai(provider);
    const parsed = await client.chat.completions.parse({ model: 'gpt-4o-mini', messages: MESSAGES, response_format: zodResponseFormat(CITY, 'place') });
    expect(parsed.choices[0]!.message.parsed).toEqual({ city: 'Paris' });
    let deltas = '';
    const stream = client.chat.completions.stream({ model: 'gpt-4o-mini', messages: MESSAGES, response_format: zodResponseFormat(CITY, 'place') });
    stream.on('content', (delta) => (deltas += delta));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.parsed).toEqual({ city: 'Paris' });
    expect(deltas).toBe('{"city":"Paris"}');
    await expectRow(s.h, job, rid, 'chat', 2);
  });

  it('responses.parse with zodTextFormat', async () => {
    behave({ reply: '{"city":"Paris"}' });
    const { client, rid, job } = openai(provider);
    const r = await client.responses.parse({ model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM, input: 'Where?', text: { format: zodTextFormat(CITY, 'place') } });
    expect(r.output_parsed).toEqual({ city: 'Paris' });
    await expectRow(s.h, job, rid, 'responses');
  });

  it('withResponse() reads the serving candidate and rollout from the answer headers', async () => {
    const { client, rid, job } = openai(provider);
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES }).withResponse();
    expect(data.choices[0]!.message.content).toBe('Paris.');
    expect(response.headers.get('x-mipro-rollout-id')).toBe(rid);
    const served = await s.h.served(job, rid);
    expect(response.headers.get('x-mipro-candidate-id')).toBe(served.candidateId);
  });

  it('retries an upstream 429, and not a 5xx the provider marked x-should-retry: false', async () => {
    behave({ reply: 'Paris.', fail: { status: 429, times: 1, retryAfter: '0' } });
    const retried = openai(provider, { maxRetries: 2 });
    expect((await retried.client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })).choices[0]!.message.content).toBe('Paris.');

    behave({ reply: 'Paris.', fail: { status: 503, times: 1, headers: { 'x-should-retry': 'false' } } });
    const once = openai(provider, { maxRetries: 2 });
    const err = await once.client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-should-retry')).toBe('false');
    expect(s.h.upstreamOf(provider).length).toBe(3); // 429 + answer, then the one 503
  });

  it('a client timeout is the SDK\'s timeout error, and the call is recorded failed', async () => {
    behave({ reply: 'Paris.', delayMs: 1_000 });
    const { client, rid, job } = openai(provider, { timeout: 200 });
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    await expect.poll(async () => (await rollout(job, rid)).calls?.[0]?.failed, { timeout: 3_000 }).toBe(true);
  });
});

describe.each(PROVIDERS)('@anthropic-ai/sdk helpers, provider %s', (provider) => {
  it('beta.messages.toolRunner with a betaZodTool', async () => {
    toolLoop();
    const { client, rid, job } = anthropic(provider);
    const runner = client.beta.messages.toolRunner({
      model: 'claude-haiku-4-5', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [betaZodTool({ name: 'weather', description: 'The weather of a city', inputSchema: CITY, run: async ({ city }) => `sunny in ${city}` })],
    });
    const final = await runner.runUntilDone();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'It is sunny.' });
    await expectRow(s.h, job, rid, 'messages', 2);
  });

  it('a system block with cache_control routes as its text (natively the block and its cache_control stay)', async () => {
    const { client, rid, job } = anthropic(provider);
    const system = [{ type: 'text' as const, text: CLIENT_SYSTEM, cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }];
    const r = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 100, system, messages: [{ role: 'user', content: 'Capital of France?' }] });
    expect(r.content[0]).toMatchObject({ type: 'text', text: 'Paris.' });
    const served = await s.h.served(job, rid);
    if (provider === 'anthropic') {
      expect((s.h.upstreamOf(provider)[0]!.body as { system: unknown }).system).toEqual([{ ...system[0], text: served.expectedSystem }]);
    }
    await expectRow(s.h, job, rid, 'messages');
  });
});
