import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { untilToolResult } from '../fakes/fakeBehavior.js';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, expectRow, useSurfaceHarness, type PolicyProvider, type SurfaceJob } from '../helpers/surfaces.js';

/**
 * The official `openai` SDK pointed at the proxy URL, chat completions and Responses, each plain,
 * streamed, with tools and with a json_schema format; against an upstream that speaks Responses
 * natively (openai) and ones reached through chat completions (openai_compatible, anthropic).
 */
const PROVIDERS: PolicyProvider[] = ['openai', 'openai_compatible', 'anthropic'];
const s = useSurfaceHarness(PROVIDERS);
let n = 0;

const WEATHER = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const CITY_JSON = '{"city":"Paris"}';

function client(provider: PolicyProvider): { openai: OpenAI; rid: string; job: SurfaceJob } {
  const job = s.jobs.get(provider)!;
  const rid = `openai-sdk-${n++}`;
  return { openai: new OpenAI({ apiKey: 'unused', baseURL: `${job.proxyUrl}/${rid}/v1`, maxRetries: 0 }), rid, job };
}

function toolCalls(): void {
  const calls = [{ id: 'call_w1', name: 'weather', arguments: CITY_JSON }];
  s.h.openai.setBehavior({ reply: '', toolCallsFor: untilToolResult(calls) });
  s.h.anthropic.setBehavior({ reply: '', toolCallsFor: untilToolResult(calls) });
}

function jsonReply(): void {
  s.h.openai.setBehavior({ reply: CITY_JSON });
  s.h.anthropic.setBehavior({ reply: CITY_JSON });
}

describe.each(PROVIDERS)('openai SDK, provider %s', (provider) => {
  it('chat.completions.create', async () => {
    const { openai, rid, job } = client(provider);
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Capital of France?' }] });
    expect(r.choices[0]!.message.content).toBe('Paris.');
    await expectRow(s.h, job, rid, 'chat');
  });

  it('chat.completions stream', async () => {
    const { openai, rid, job } = client(provider);
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Capital of France?' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Paris.');
    await expectRow(s.h, job, rid, 'chat');
  });

  it('chat.completions tools', async () => {
    toolCalls();
    const { openai, rid, job } = client(provider);
    const r = await openai.chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: WEATHER } }],
    });
    const call = r.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('weather');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    await expectRow(s.h, job, rid, 'chat');
  });

  it('chat.completions json_schema', async () => {
    jsonReply();
    const { openai, rid, job } = client(provider);
    const r = await openai.chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Where?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'place', schema: WEATHER, strict: true } },
    });
    expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ city: 'Paris' });
    await expectRow(s.h, job, rid, 'chat');
  });

  it('responses.create', async () => {
    const { openai, rid, job } = client(provider);
    const r = await openai.responses.create({ model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM, input: 'Capital of France?' });
    expect(r.output_text).toBe('Paris.');
    expect(r.instructions).toBe(CLIENT_SYSTEM);
    expect(r.usage?.output_tokens).toBeGreaterThan(0);
    await expectRow(s.h, job, rid, 'responses');
  });

  it('responses stream (the SDK\'s stream helper and its final response)', async () => {
    const { openai, rid, job } = client(provider);
    const stream = openai.responses.stream({ model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM, input: [{ role: 'user', content: 'Capital of France?' }] });
    const types = new Set<string>();
    let text = '';
    for await (const ev of stream) {
      types.add(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    const final = await stream.finalResponse();
    expect(text).toBe('Paris.');
    expect(final.output_text).toBe('Paris.');
    expect([...types]).toEqual(expect.arrayContaining(['response.created', 'response.output_text.delta', 'response.output_text.done', 'response.completed']));
    await expectRow(s.h, job, rid, 'responses');
  });

  it('responses tools: a function call, then its output sent back (two calls, one rollout)', async () => {
    toolCalls();
    const { openai, rid, job } = client(provider);
    const tools = [{ type: 'function' as const, name: 'weather', parameters: WEATHER, strict: true }];
    const first = await openai.responses.create({ model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM, input: 'Weather in Paris?', tools });
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call?.type === 'function_call' && [call.name, JSON.parse(call.arguments)]).toEqual(['weather', { city: 'Paris' }]);
    s.h.openai.setBehavior({ reply: 'Sunny.', toolCallsFor: untilToolResult([]) });
    s.h.anthropic.setBehavior({ reply: 'Sunny.' });
    const second = await openai.responses.create({
      model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM, tools,
      input: [{ role: 'user', content: 'Weather in Paris?' }, call!, { type: 'function_call_output', call_id: call!.type === 'function_call' ? call!.call_id : '', output: 'sunny' }],
    });
    expect(second.output_text).toBe('Sunny.');
    await expectRow(s.h, job, rid, 'responses', 2);
  });

  it('responses json_schema (text.format)', async () => {
    jsonReply();
    const { openai, rid, job } = client(provider);
    const r = await openai.responses.create({
      model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM, input: 'Where?',
      text: { format: { type: 'json_schema', name: 'place', schema: WEATHER, strict: true } },
    });
    expect(JSON.parse(r.output_text)).toEqual({ city: 'Paris' });
    await expectRow(s.h, job, rid, 'responses');
  });
});

describe('openai SDK, models and errors', () => {
  it('lists the policy model and surfaces a stateless refusal as a BadRequestError', async () => {
    const { openai } = client('openai');
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['gpt-4o-mini']);
    await expect(openai.responses.create({ model: 'x', input: 'hi', previous_response_id: 'resp_1' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/stateless/) });
  });

  it('translated to anthropic: a refused call keeps Anthropic\'s type (OpenAI\'s `type` is a free string; the SDK classifies by status)', async () => {
    const cases = [
      { fail: { status: 429, type: 'rate_limit_error', message: 'slow down', retryAfter: '0' }, status: 429, sdk: OpenAI.RateLimitError },
      { fail: { status: 401, type: 'authentication_error', message: 'invalid x-api-key' }, status: 401, sdk: OpenAI.AuthenticationError },
    ];
    for (const c of cases) {
      s.h.anthropic.setBehavior({ reply: 'Paris.', fail: c.fail });
      const { openai } = client('anthropic');
      const chat = await openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      const responses = await openai.responses.create({ model: 'x', input: 'hi' }).catch((e: unknown) => e);
      for (const err of [chat, responses]) {
        expect(err, c.fail.type).toBeInstanceOf(c.sdk);
        expect(err).toMatchObject({ status: c.status, type: c.fail.type, error: { type: c.fail.type, message: c.fail.message } });
      }
    }
  });
});

describe('openai SDK, what an anthropic policy cannot take', () => {
  // Anthropic refuses whitespace-only stop sequences: this came back as the upstream's 400 after the
  // rollout was recorded (a rollout that could never be rewarded).
  it('a whitespace-only stop sequence is a 422 naming it, before anything is sent or recorded', async () => {
    const { openai, rid, job } = client('anthropic');
    const messages = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'Capital of France?' }];
    const err = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stop: ['END', '\n'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 422, message: expect.stringMatching(/stop\.1.*whitespace/) });
    expect(s.h.anthropic.requests).toHaveLength(0);
    const rollout = await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key });
    expect(rollout.status).toBe(404);
    // A stop sequence with text in it still goes through.
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stop: ['END', '\nQ:'] });
    expect(r.choices[0]!.message.content).toBe('Paris.');
    expect((s.h.anthropic.requests.at(-1)?.body as { stop_sequences: string[] }).stop_sequences).toEqual(['END', '\nQ:']);
  });

  // What the Messages API cannot take was named by the internal chat call's path (messages.2.tool_calls.0...),
  // a field a Responses client never sent.
  it('responses: a problem only anthropic has is a 422 naming the Responses field', async () => {
    const { openai, rid, job } = client('anthropic');
    const err = await openai.responses.create({
      model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM,
      input: [{ role: 'user', content: 'Weather?' }, { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '["Paris"]' }, { type: 'function_call_output', call_id: 'c1', output: 'sunny' }],
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 422, param: 'input.1.arguments', message: expect.stringMatching(/^422 invalid request: input\.1\.arguments: must be a JSON object/) });
    const image = await openai.responses.create({
      model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM,
      input: [{ role: 'developer', content: [{ type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' }] }, { role: 'user', content: 'What is it?' }],
    }).catch((e: unknown) => e);
    expect(image).toMatchObject({ status: 422, param: 'input.0.content.0.type' });
    expect(s.h.anthropic.requests).toHaveLength(0);
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).status).toBe(404);
  });

  // Anthropic takes jpeg, png, gif and webp images, as base64 or an http(s) URL: anything else was its
  // 400 after the rollout was recorded.
  it('chat: an image anthropic cannot take is a 422 naming it; a png goes as base64', async () => {
    const { openai, rid, job } = client('anthropic');
    const ask = (url: string) => openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: [{ type: 'text', text: 'What is it?' }, { type: 'image_url', image_url: { url } }] }],
    });
    for (const url of ['data:image/bmp;base64,Qk0=', 'data:image/png,%89PNG', 'data:image/svg+xml;utf8,<svg/>']) {
      const err = await ask(url).catch((e: unknown) => e);
      expect(err, url).toMatchObject({ status: 422, param: 'messages.1.content.1.image_url.url' });
    }
    expect(s.h.anthropic.requests).toHaveLength(0);
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).status).toBe(404);
    const ok = await ask('data:IMAGE/PNG;base64,iVBORw0KGgo=');
    expect(ok.choices[0]!.message.content).toBe('Paris.');
    const sent = s.h.anthropic.requests.at(-1)?.body as { messages: Array<{ content: unknown[] }> };
    expect(sent.messages[0]!.content[1]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } });
  });

  // Anthropic refuses a message whose text is only whitespace ("text content blocks must contain
  // non-whitespace text"): an assistant turn of "\n" before its tool calls, as many models write, came
  // back as that 400 on the next call of the loop, after the rollout was recorded.
  it('chat: a whitespace-only text in the history is left out, the call goes through', async () => {
    const { openai, rid, job } = client('anthropic');
    s.h.anthropic.setBehavior({ reply: 'Sunny.' });
    const r = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: CLIENT_SYSTEM },
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: '\n\n', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
        { role: 'user', content: [{ type: 'text', text: 'And? ' }, { type: 'text', text: ' ' }] },
      ],
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    expect(r.choices[0]!.message.content).toBe('Sunny.');
    const sent = s.h.anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown[] }> };
    expect(sent.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } }] });
    // Beside real text, whitespace stays as written.
    expect(sent.messages[2]!.content).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }, { type: 'text', text: 'And? ' }, { type: 'text', text: ' ' }]);
    await expectRow(s.h, job, rid, 'chat');
  });

  // OpenAI takes `parameters: {}` for a tool without arguments; Anthropic wants input_schema.type "object"
  // and answered 400 after the rollout was recorded.
  it('chat: a tool whose parameters name no type goes as an object schema; another type is a 422', async () => {
    const { openai, rid, job } = client('anthropic');
    const messages = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'What time is it?' }];
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [{ type: 'function', function: { name: 'now', parameters: {} } }, { type: 'function', function: { name: 'tz', parameters: { properties: { zone: { type: 'string' } } } } }] });
    expect(r.choices[0]!.message.content).toBe('Paris.');
    const sent = s.h.anthropic.requests.at(-1)?.body as { tools: unknown[] };
    expect(sent.tools).toEqual([{ name: 'now', input_schema: { type: 'object' } }, { name: 'tz', input_schema: { type: 'object', properties: { zone: { type: 'string' } } } }]);
    await expectRow(s.h, job, rid, 'chat');
    const err = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: [{ type: 'function', function: { name: 'now', parameters: { type: 'string' } } }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 422, param: 'tools.0.function.parameters.type' });
    // A Responses client gets its own (flat) field name.
    const viaResponses = await openai.responses.create({ model: 'gpt-4o-mini', instructions: CLIENT_SYSTEM, input: 'What time is it?', tools: [{ type: 'function', name: 'now', parameters: { type: 'string' }, strict: false }] }).catch((e: unknown) => e);
    expect(viaResponses).toMatchObject({ status: 422, param: 'tools.0.parameters.type' });
    expect(s.h.anthropic.requests).toHaveLength(1);
  });

  // Audio output was dropped: the answer came back without message.audio, where the client reads it.
  it('chat: audio output is a 422 naming the field, before anything is sent or recorded', async () => {
    const { openai, rid, job } = client('anthropic');
    const messages = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'Say hi.' }];
    const err = await openai.chat.completions.create({ model: 'gpt-4o-audio-preview', messages, modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 422, param: 'modalities' });
    const onlyAudio = await openai.chat.completions.create({ model: 'gpt-4o-audio-preview', messages, audio: { voice: 'alloy', format: 'wav' } }).catch((e: unknown) => e);
    expect(onlyAudio).toMatchObject({ status: 422, param: 'audio' });
    expect(s.h.anthropic.requests).toHaveLength(0);
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).status).toBe(404);
    // Web search (search models) would be dropped the same way: the model answers without searching.
    const search = await openai.chat.completions.create({ model: 'gpt-4o-search-preview', messages, web_search_options: {} }).catch((e: unknown) => e);
    expect(search).toMatchObject({ status: 422, param: 'web_search_options' });
    expect(s.h.anthropic.requests).toHaveLength(0);
    // Text only goes through.
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, modalities: ['text'] });
    expect(r.choices[0]!.message.content).toBe('Paris.');
  });

  // OpenAI clients often put an email in `user`; Anthropic refuses one in metadata.user_id ("user_id
  // appears to contain an email address"), which came back as a 400 after the rollout was recorded.
  it('chat: a user that is an email address goes as its hash, an opaque one as sent', async () => {
    const { openai, rid, job } = client('anthropic');
    const messages = [{ role: 'system' as const, content: CLIENT_SYSTEM }, { role: 'user' as const, content: 'Capital of France?' }];
    const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, user: 'alice@example.com' });
    expect(r.choices[0]!.message.content).toBe('Paris.');
    const hash = createHash('sha256').update('alice@example.com').digest('hex');
    expect((s.h.anthropic.requests.at(-1)?.body as { metadata: unknown }).metadata).toEqual({ user_id: hash });
    await expectRow(s.h, job, rid, 'chat');
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, user: 'u-4f1c2a' });
    expect((s.h.anthropic.requests.at(-1)?.body as { metadata: unknown }).metadata).toEqual({ user_id: 'u-4f1c2a' });
  });

  // A tool without output (a write-only tool, a command that printed nothing) sends content ""; Anthropic
  // refuses an empty tool_result content, which came back as a 400 after the rollout was recorded.
  it('chat: a tool message without output goes as a tool_result without content', async () => {
    const { openai, rid, job } = client('anthropic');
    const r = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: CLIENT_SYSTEM },
        { role: 'user', content: 'Save it.' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_s', type: 'function', function: { name: 'save', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'toolu_s', content: '' },
      ],
      tools: [{ type: 'function', function: { name: 'save', parameters: { type: 'object', properties: {} } } }],
    });
    expect(r.choices[0]!.message.content).toBe('Paris.');
    const sent = s.h.anthropic.requests.at(-1)?.body as { messages: Array<{ role: string; content: unknown[] }> };
    expect(sent.messages[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_s' }] });
    await expectRow(s.h, job, rid, 'chat');
  });
});
