import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/providers/sseParser.js';
import { api } from '../helpers/server.js';
import { CANDIDATE_TEXT, CLIENT_SYSTEM, expectedUpstream, useSurfaceHarness, upstreamSystem, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * The proxy's Responses and Messages surfaces over real HTTP, with every provider: native where the
 * upstream speaks the surface (openai: Responses; anthropic: Messages), translated through chat
 * completions otherwise (openai_compatible, sim, and the crossed pairs). Each call checks where the
 * serving candidate's text reached the upstream, the rollout record, the reward and usage.
 */
const PROVIDERS: PolicyProvider[] = ['openai', 'openai_compatible', 'anthropic', 'sim'];
const s = useSurfaceHarness(PROVIDERS);
let n = 0;

async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function events(text: string): Array<{ event: string | undefined; data: any }> {
  return new SseParser().push(text).map((e) => ({ event: e.event, data: JSON.parse(e.data) }));
}

/** Checks the record, the upstream's system text for the served candidate, and the reward. */
async function checkRollout(provider: PolicyProvider, surface: 'responses' | 'messages', rolloutId: string, headers: Headers): Promise<void> {
  const job = s.jobs.get(provider)!;
  const served = await s.h.served(job, rolloutId);
  expect(headers.get('x-mipro-candidate-id')).toBe(served.candidateId);
  expect(headers.get('x-mipro-rollout-id')).toBe(rolloutId);
  expect(served.rollout.calls[0].module).toBe('main');
  expect(served.rollout.calls[0].input_messages).toEqual([{ role: 'user', content: 'Capital of France?' }]);
  expect(served.rollout.calls[0].failed).toBe(false);
  const where = expectedUpstream(provider, surface);
  if (where !== null) {
    const sent = s.h.upstreamOf(provider);
    expect(sent).toHaveLength(1);
    const seen = upstreamSystem(sent[0]!);
    expect({ path: seen.path, field: seen.field, system: seen.system }).toEqual({ ...where, system: served.expectedSystem });
    expect((sent[0]!.body as { model: string }).model).toBe(provider === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o-mini');
  }
  await s.h.reward(job, rolloutId, served.candidateId);
}

describe.each(PROVIDERS)('surfaces with provider %s', (provider) => {
  const base = () => `${s.jobs.get(provider)!.proxyUrl}`;
  const reply = provider === 'sim' ? expect.any(String) : 'Paris.';

  it('answers Responses as JSON with the client\'s own instructions echoed', async () => {
    const rid = `resp-json-${provider}-${n++}`;
    const res = await post(`${base()}/${rid}/v1/responses`, { model: 'whatever', instructions: CLIENT_SYSTEM, input: 'Capital of France?', store: false });
    expect(res.status, res.text).toBe(200);
    const body = JSON.parse(res.text);
    expect(body).toMatchObject({ object: 'response', status: 'completed', instructions: CLIENT_SYSTEM, output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: reply }] }] });
    expect(body.usage.input_tokens).toBeGreaterThan(0);
    expect(res.text).not.toContain(CANDIDATE_TEXT);
    await checkRollout(provider, 'responses', rid, res.headers);
  });

  it('streams Responses events from response.created to response.completed', async () => {
    const rid = `resp-sse-${provider}-${n++}`;
    const res = await post(`${base()}/${rid}/responses`, { instructions: CLIENT_SYSTEM, input: [{ role: 'user', content: 'Capital of France?' }], stream: true });
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const evs = events(res.text);
    expect(evs[0]!.data.type).toBe('response.created');
    expect(evs.at(-1)!.data.type).toBe('response.completed');
    const text = evs.filter((e) => e.data.type === 'response.output_text.delta').map((e) => e.data.delta).join('');
    expect(evs.at(-1)!.data.response.output[0].content[0].text).toBe(text);
    expect(evs.at(-1)!.data.response.instructions).toBe(CLIENT_SYSTEM);
    expect(res.text).not.toContain(CANDIDATE_TEXT);
    await checkRollout(provider, 'responses', rid, res.headers);
  });

  it('answers Messages as JSON', async () => {
    const rid = `msg-json-${provider}-${n++}`;
    const res = await post(`${base()}/${rid}/v1/messages`, { model: 'whatever', max_tokens: 100, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Capital of France?' }] });
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: reply }], stop_reason: 'end_turn' });
    await checkRollout(provider, 'messages', rid, res.headers);
  });

  it('streams Messages events from message_start to message_stop, system given as blocks', async () => {
    const rid = `msg-sse-${provider}-${n++}`;
    const res = await post(`${base()}/${rid}/messages`, { max_tokens: 100, stream: true, system: [{ type: 'text', text: CLIENT_SYSTEM }], messages: [{ role: 'user', content: [{ type: 'text', text: 'Capital of France?' }] }] });
    expect(res.status, res.text).toBe(200);
    const evs = events(res.text);
    expect(evs[0]!.event).toBe('message_start');
    expect(evs.at(-1)!.event).toBe('message_stop');
    expect(evs.find((e) => e.event === 'message_delta')!.data.usage.output_tokens).toBeGreaterThan(0);
    await checkRollout(provider, 'messages', rid, res.headers);
  });

  it('relays tool calls on both surfaces', async () => {
    const calls = [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }];
    s.h.openai.setBehavior({ reply: '', toolCalls: calls });
    s.h.anthropic.setBehavior({ reply: '', toolCalls: [{ ...calls[0]!, id: 'toolu_w1' }] });
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const r = await post(`${base()}/responses`, { instructions: CLIENT_SYSTEM, input: 'Weather in Paris?', tools: [{ type: 'function', name: 'weather', parameters: schema }] });
    expect(r.status, r.text).toBe(200);
    const item = JSON.parse(r.text).output.find((o: { type: string }) => o.type === 'function_call');
    expect(item).toMatchObject({ type: 'function_call', name: 'weather' });
    expect(JSON.parse(item.arguments)).toEqual(provider === 'sim' ? { city: expect.any(String) } : { city: 'Paris' });
    const m = await post(`${base()}/messages`, { max_tokens: 50, system: CLIENT_SYSTEM, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [{ name: 'weather', input_schema: schema }] });
    expect(m.status, m.text).toBe(200);
    const msg = JSON.parse(m.text);
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content.find((b: { type: string }) => b.type === 'tool_use')).toMatchObject({ name: 'weather', input: provider === 'sim' ? { city: expect.any(String) } : { city: 'Paris' } });
  });
});

describe('errors in each surface\'s own shape, models, usage', () => {
  it('refuses stateful Responses with a 400 in OpenAI\'s shape', async () => {
    const res = await api(s.jobs.get('openai')!.proxyUrl, 'POST', '/responses', { body: { input: 'hi', previous_response_id: 'resp_1' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'previous_response_id', message: expect.stringMatching(/stateless/) });
    // Said once: the summary, the field, then what to send instead.
    expect(res.body.error.message.match(/stateless/g)).toHaveLength(1);
    const store = await api(s.jobs.get('openai')!.proxyUrl, 'POST', '/v1/responses', { body: { input: 'hi', store: true } });
    expect([store.status, store.body.error.param]).toEqual([400, 'store']);
    expect(s.h.openai.requests).toHaveLength(0);
  });

  it('sends what only the native API has (server tools, documents, files) as written, and refuses it when translated', async () => {
    // Messages: a document block and a server tool reach Anthropic untouched.
    const messages = {
      max_tokens: 20, system: CLIENT_SYSTEM,
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Paris is in France.' } }, { type: 'text', text: 'Capital of France?' }] }],
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
    };
    const beta = 'web-search-2025-03-05,files-api-2025-04-14';
    const native = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', '/native-m/messages', { body: messages, headers: { 'anthropic-beta': beta } });
    expect(native.status, JSON.stringify(native.body)).toBe(200);
    const recorded = s.h.upstreamOf('anthropic').at(-1)!;
    const sentM = recorded.body as { messages: Array<{ content: unknown }>; tools: unknown };
    expect(sentM.messages[0]!.content).toEqual(messages.messages[0]!.content);
    expect(sentM.tools).toEqual(messages.tools);
    // The Anthropic SDK's `betas` travel as a header: forwarded with the body they enable.
    expect(recorded.headers['anthropic-beta']).toBe(beta);
    const badBeta = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', '/bad-beta/messages', { body: messages, headers: { 'anthropic-beta': 'x;y' } });
    expect(badBeta.status).toBe(422);
    expect(badBeta.body.error.message).toMatch(/anthropic-beta/);
    // Translated (chat completions upstream): refused with the field named, before any upstream call.
    const before = s.h.upstreamOf('openai_compatible').length;
    const translated = await api(s.jobs.get('openai_compatible')!.proxyUrl, 'POST', '/translated-m/messages', { body: messages });
    expect(translated.status).toBe(422);
    expect(translated.body.error.message).toMatch(/"document" is not supported when the upstream speaks chat completions/);
    expect(s.h.upstreamOf('openai_compatible')).toHaveLength(before);

    // Responses: a built-in tool and a file input reach OpenAI untouched.
    const responses = {
      instructions: CLIENT_SYSTEM,
      input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }, { type: 'input_text', text: 'Capital of France?' }] }],
      tools: [{ type: 'web_search' }], tool_choice: { type: 'web_search' },
    };
    const nativeR = await api(s.jobs.get('openai')!.proxyUrl, 'POST', '/native-r/responses', { body: responses });
    expect(nativeR.status, JSON.stringify(nativeR.body)).toBe(200);
    const sentR = s.h.upstreamOf('openai').at(-1)! as { url: string; body: { input: unknown; tools: unknown; tool_choice: unknown } };
    expect(sentR.url).toMatch(/\/responses$/);
    expect([sentR.body.input, sentR.body.tools, sentR.body.tool_choice]).toEqual([responses.input, responses.tools, responses.tool_choice]);
    const translatedR = await api(s.jobs.get('openai_compatible')!.proxyUrl, 'POST', '/translated-r/responses', { body: responses });
    expect(translatedR.status).toBe(422);
    expect(translatedR.body.error.message).toMatch(/input_file|tools need OpenAI itself|tool_choice/);
    expect(await s.h.t.server.store.getRollout(s.jobs.get('openai_compatible')!.jobId, 'translated-r')).toBeNull();
  });

  it('answers Messages errors in Anthropic\'s shape: bad body, unknown system, upstream failure', async () => {
    const bad = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', '/v1/messages', { body: { max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] } });
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/max_tokens/) } });
    const unknown = await api(s.h.t.url, 'POST', '/api/mipro/v1/nope/v1/messages', { body: { max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.any(String) } });
    const unknownResponses = await api(s.h.t.url, 'POST', '/api/mipro/v1/nope/responses', { body: { input: 'hi' } });
    expect(unknownResponses.body.error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
    // Routes under /messages miprox does not serve (the SDK's countTokens) answer in Anthropic's shape too.
    const count = await api(`${s.jobs.get('anthropic')!.proxyUrl}/r1/v1`, 'POST', '/messages/count_tokens', { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect([count.status, count.body.type, count.body.error?.type]).toEqual([404, 'error', 'not_found_error']);
    // A rollout named `messages` on another surface keeps that surface's (OpenAI's) shape.
    const named = await api(`${s.jobs.get('anthropic')!.proxyUrl}/messages`, 'POST', '/responses', { body: {} });
    expect([named.status, named.body.type, typeof named.body.error?.message]).toEqual([422, undefined, 'string']);
    // The provider's wait hint reaches the client with the 429 once the proxy's own retries are spent.
    s.h.anthropic.setBehavior({ fail: { status: 429, type: 'rate_limit_error', message: 'slow down', retryAfter: '0' } });
    const limited = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', '/messages', { body: { max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] } });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
    expect(limited.headers.get('retry-after')).toBe('0');
  });

  it('ends a failed Messages stream with an Anthropic error event', async () => {
    s.h.openai.setBehavior({ reply: 'a long answer in pieces', chunks: 5, dropAfterChunks: 3 });
    const res = await post(`${s.jobs.get('openai_compatible')!.proxyUrl}/messages`, { max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const evs = events(res.text);
    expect(evs.at(-1)).toEqual({ event: 'error', data: { type: 'error', error: { type: 'api_error', message: expect.any(String) } } });
    expect(evs.some((e) => e.event === 'message_stop')).toBe(false);
  });

  it('ends a translated stream the upstream breaks off with everything it produced, then the surface\'s terminal events', async () => {
    // Text, then a tool call whose events are held back behind the open message item; the connection drops mid-arguments.
    s.h.openai.setBehavior({ reply: 'Checking', chunks: 1, toolCalls: [{ id: 'call_w1', name: 'weather', arguments: '{"city":"Paris"}' }], dropAfterChunks: 4 });
    const job = s.jobs.get('openai_compatible')!;
    const rid = `broken-responses-${n++}`;
    const r = events((await post(`${job.proxyUrl}/${rid}/responses`, { input: 'Weather?', stream: true })).text);
    expect(r.map((e) => e.data.sequence_number)).toEqual(r.map((_, i) => i));
    expect(r.slice(-2).map((e) => e.event)).toEqual(['error', 'response.failed']);
    expect(r.filter((e) => e.event === 'response.output_item.done')).toHaveLength(2);
    const failed = r.at(-1)!.data.response;
    expect(failed).toMatchObject({ status: 'failed', error: { code: expect.any(String), message: expect.any(String) } });
    expect(failed.output.map((o: { type: string; status: string }) => [o.type, o.status])).toEqual([['message', 'incomplete'], ['function_call', 'incomplete']]);
    expect((await s.h.served(job, rid)).rollout.calls[0].failed).toBe(true);

    const m = events((await post(`${job.proxyUrl}/messages`, { max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Weather?' }] })).text);
    expect(m.map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_stop', 'error']);
    expect(m[4]!.data.content_block).toMatchObject({ type: 'tool_use', id: 'call_w1', name: 'weather' });
  });

  it('ends a translated stream at the upstream\'s [DONE]: what follows reaches neither the client nor the record', async () => {
    const late = `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: ' LATE' }, finish_reason: null }] })}\n\n`;
    s.h.openai.setBehavior({ reply: 'Paris.', afterDone: [late, `data: ${JSON.stringify({ error: { message: 'late failure' } })}\n\n`] });
    const job = s.jobs.get('openai_compatible')!;
    const usage = async () => (await api(s.h.t.url, 'GET', `/api/policy-optimization/online/jobs/${job.jobId}`, { key: s.h.t.key })).body.usage.policy as { prompt_tokens: number };
    let before = (await usage()).prompt_tokens;
    for (const [path, body, terminal] of [
      ['responses', { input: 'Capital of France?', stream: true }, 'response.completed'],
      ['messages', { max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Capital of France?' }] }, 'message_stop'],
    ] as const) {
      const rid = `after-done-${path}-${n++}`;
      const res = await post(`${job.proxyUrl}/${rid}/${path}`, body);
      const evs = events(res.text);
      expect(evs.at(-1)!.event).toBe(terminal);
      expect(res.text).not.toMatch(/LATE|late failure/);
      const call = (await s.h.served(job, rid)).rollout.calls[0];
      expect([call.output_text, call.failed]).toEqual(['Paris.', false]);
      // The usage chunk came just before [DONE]: the record keeps it (it is written with the call).
      expect((await usage()).prompt_tokens - before).toBe(12);
      before += 12;
    }
  });

  it('ends the client\'s stream at the upstream\'s [DONE] even when the upstream keeps its connection open after it', async () => {
    // Five events (role, text, finish, usage, [DONE]), a keep-alive comment, then silence with the connection open.
    s.h.openai.setBehavior({ reply: 'Paris.', chunks: 1, afterDone: [': keep-alive\n\n', ': never sent\n\n'], stallAfterChunks: 6 });
    const job = s.jobs.get('openai_compatible')!;
    for (const [path, body, last] of [
      ['responses', { input: 'Capital of France?', stream: true }, /"type":"response\.completed"/],
      ['messages', { max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Capital of France?' }] }, /event: message_stop/],
      ['chat/completions', { stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Capital of France?' }] }, /data: \[DONE\]\n\n/],
    ] as const) {
      const rid = `open-after-done-${path.replace('/', '-')}-${n++}`;
      // Well under the upstream's idle timeout: a response held open until then would fail here.
      const res = await fetch(`${job.proxyUrl}/${rid}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
      const text = await res.text();
      expect(text).toMatch(last);
      const call = (await s.h.served(job, rid)).rollout.calls[0];
      expect([call.output_text, call.failed]).toEqual(['Paris.', false]);
    }
  });

  it.each([
    ['anthropic', 'messages', { max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }],
    ['openai', 'responses', { input: 'hi', stream: true }],
  ] as const)('relays a native %s stream ending in the provider\'s own error event once, and records the call as failed', async (provider, path, body) => {
    (provider === 'anthropic' ? s.h.anthropic : s.h.openai).setBehavior({ reply: 'a b c d', chunks: 4, errorEventAfterChunks: 4 });
    const rid = `native-error-${provider}-${n++}`;
    const res = await post(`${s.jobs.get(provider)!.proxyUrl}/${rid}/${path}`, body);
    const evs = events(res.text);
    expect(evs.filter((e) => e.event === 'error')).toHaveLength(1);
    expect(evs.at(-1)!.event).toBe('error');
    expect(JSON.stringify(evs.at(-1)!.data)).toMatch(provider === 'anthropic' ? /overloaded_error/ : /server_error/);
    const served = await s.h.served(s.jobs.get(provider)!, rid);
    expect(served.rollout.calls[0].failed).toBe(true);
  });

  it('relays the error type of an Anthropic stream\'s own error event to a chat client of an anthropic policy (translated)', async () => {
    s.h.anthropic.setBehavior({ reply: 'a b c d', chunks: 4, errorEventAfterChunks: 4 });
    const rid = `translated-error-${n++}`;
    const res = await post(`${s.jobs.get('anthropic')!.proxyUrl}/${rid}/chat/completions`, { stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const errors = events(res.text).filter((e) => JSON.stringify(e.data).includes('"error"'));
    expect(errors).toHaveLength(1);
    // As the JSON path says it (a 529 answered `overloaded_error`): clients tell "overloaded" from a bug by it.
    expect(errors[0]!.data).toMatchObject({ error: { type: 'overloaded_error', message: expect.stringMatching(/Overloaded/) } });
  });

  it('adds no policy temperature where the client chose how to sample: thinking, top_p on Messages, reasoning on Responses and chat', async () => {
    const anthropic = s.jobs.get('anthropic')!.proxyUrl;
    const openai = s.jobs.get('openai')!.proxyUrl;
    const sentBody = (fake: { requests: Array<{ body: unknown }> }) => fake.requests.at(-1)!.body as Record<string, unknown>;
    const thinking = { type: 'enabled', budget_tokens: 100 };
    expect((await post(`${anthropic}/messages`, { max_tokens: 200, thinking, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    expect(sentBody(s.h.anthropic)).toMatchObject({ thinking, max_tokens: 200 });
    expect(sentBody(s.h.anthropic)).not.toHaveProperty('temperature');
    expect((await post(`${anthropic}/messages`, { max_tokens: 20, top_p: 0.9, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    expect(sentBody(s.h.anthropic)).not.toHaveProperty('temperature');
    expect((await post(`${anthropic}/messages`, { max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    expect(sentBody(s.h.anthropic)).toMatchObject({ temperature: 0 }); // the policy's, where the client sent none
    expect((await post(`${openai}/responses`, { input: 'hi', reasoning: { effort: 'low' } })).status).toBe(200);
    expect(sentBody(s.h.openai)).not.toHaveProperty('temperature');
    expect((await post(`${openai}/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'low' })).status).toBe(200);
    expect(sentBody(s.h.openai)).not.toHaveProperty('temperature');
    expect((await post(`${openai}/responses`, { input: 'hi' })).status).toBe(200);
    expect(sentBody(s.h.openai)).toMatchObject({ temperature: 0 });
    // Translated to Anthropic: top_p keeps the temperature out; reasoning_effort is dropped there, so the job's applies.
    expect((await post(`${anthropic}/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], top_p: 0.9 })).status).toBe(200);
    expect(sentBody(s.h.anthropic)).toMatchObject({ top_p: 0.9 });
    expect(sentBody(s.h.anthropic)).not.toHaveProperty('temperature');
    expect((await post(`${anthropic}/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], reasoning_effort: 'low' })).status).toBe(200);
    expect(sentBody(s.h.anthropic)).toMatchObject({ temperature: 0 });
  });

  it('refuses a thinking budget the job\'s token cap leaves no room for, before any upstream call or record', async () => {
    const job = s.jobs.get('anthropic')!;
    const res = await api(job.proxyUrl, 'POST', '/thinking-capped/messages', { body: { max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }] } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/thinking\.budget_tokens: must be less than max_tokens \(256\): this job caps a call at 256 tokens \(policy\.max_completion_tokens\)/);
    expect(s.h.anthropic.requests).toHaveLength(0);
    expect(await s.h.t.server.store.getRollout(job.jobId, 'thinking-capped')).toBeNull();
    // Interleaved thinking (a beta) lets the budget exceed max_tokens: not refused.
    const interleaved = await fetch(`${job.proxyUrl}/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-beta': 'interleaved-thinking-2025-05-14' },
      body: JSON.stringify({ max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(interleaved.status).toBe(200);
  });

  it('names the field of a bad body on every surface: not an object, a bad input item, a bad system', async () => {
    const openai = s.jobs.get('openai')!.proxyUrl;
    for (const path of ['/messages', '/responses', '/chat/completions']) {
      for (const body of [[], 5]) {
        const res = await api(openai, 'POST', path, { body });
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(422);
        expect(JSON.stringify(res.body)).toMatch(/body: must be a JSON object/);
      }
    }
    const item = await api(openai, 'POST', '/responses', { body: { input: [{ role: 'user', content: 5 }], temperature: 'hot' } });
    expect([item.status, item.body.error.param]).toEqual([422, 'input.0.content']);
    expect(item.body.error.message).toMatch(/temperature/); // the other field's problem is listed too
    const empty = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', '/responses', { body: { input: [{ role: 'user' }] } });
    expect([empty.status, empty.body.error.param]).toEqual([422, 'input.0.content']);
    // A schema's own word for an unknown key is kept (mipro's says what it takes).
    const mipro = await api(openai, 'POST', '/chat/completions', { body: { messages: [{ role: 'user', content: 'hi' }], mipro: { modul: 'x' } } });
    expect(mipro.status).toBe(422);
    expect(mipro.body.error.message).toMatch(/mipro: unknown key modul: mipro takes module and variables/);
    const system = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', '/messages', { body: { max_tokens: 5, system: 5, messages: [{ role: 'user', content: 'hi' }] } });
    expect(system.status).toBe(422);
    expect(system.body.error.message).toMatch(/system: must be a string or an array of text blocks/);
  });

  it('sends a native Responses input made only of items miprox does not model, instead of refusing it', async () => {
    const input = [{ type: 'computer_call_output', call_id: 'c1', output: { type: 'input_image', image_url: 'https://example.com/s.png' } }];
    const res = await post(`${s.jobs.get('openai')!.proxyUrl}/responses`, { instructions: CLIENT_SYSTEM, input });
    expect(res.status, res.text).toBe(200);
    expect((s.h.openai.requests.at(-1)!.body as { input: unknown }).input).toEqual(input);
    // Translated, the same input cannot be carried: refused, naming the item.
    const translated = await api(s.jobs.get('openai_compatible')!.proxyUrl, 'POST', '/responses', { body: { input } });
    expect([translated.status, translated.body.error.param]).toEqual([422, 'input.0.type']);
  });

  it('lists the job\'s policy model on GET models, with and without v1 and a rollout id', async () => {
    for (const path of ['/models', '/v1/models', '/r-models/v1/models']) {
      const res = await api(s.jobs.get('anthropic')!.proxyUrl, 'GET', path);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ object: 'list', data: [{ id: 'claude-haiku-4-5', object: 'model', created: expect.any(Number), owned_by: 'anthropic' }] });
    }
    expect((await api(s.h.t.url, 'GET', '/api/mipro/v1/nope/models')).status).toBe(404);
  });

  it('names a translated call\'s length limit the way its provider reads it (max_completion_tokens for openai, max_tokens for a compatible server)', async () => {
    const limits = (provider: PolicyProvider) => s.h.upstreamOf(provider).map((r) => {
      const body = r.body as { max_tokens?: number; max_completion_tokens?: number };
      return { path: r.url.split('?')[0], max_tokens: body.max_tokens, max_completion_tokens: body.max_completion_tokens };
    });
    await post(`${s.jobs.get('openai')!.proxyUrl}/messages`, { max_tokens: 77, messages: [{ role: 'user', content: 'hi' }] });
    expect(limits('openai')).toEqual([{ path: '/v1/chat/completions', max_tokens: undefined, max_completion_tokens: 77 }]);
    s.h.upstreamOf('openai').length = 0;
    const compatible = s.jobs.get('openai_compatible')!.proxyUrl;
    await post(`${compatible}/messages`, { max_tokens: 66, messages: [{ role: 'user', content: 'hi' }] });
    await post(`${compatible}/responses`, { input: 'hi', max_output_tokens: 55 });
    expect(limits('openai_compatible')).toEqual([
      { path: '/v1/chat/completions', max_tokens: 66, max_completion_tokens: undefined },
      { path: '/v1/chat/completions', max_tokens: 55, max_completion_tokens: undefined },
    ]);
  });

  it('fills a Messages call\'s max_tokens from the policy when the client leaves it out (SPEC.md: limits filled when omitted), natively and translated', async () => {
    const sentLimit = (provider: PolicyProvider) => {
      const body = s.h.upstreamOf(provider).at(-1)!.body as { max_tokens?: number; max_completion_tokens?: number };
      return body.max_tokens ?? body.max_completion_tokens;
    };
    for (const provider of ['anthropic', 'openai', 'openai_compatible'] as const) {
      const res = await post(`${s.jobs.get(provider)!.proxyUrl}/messages`, { messages: [{ role: 'user', content: 'hi' }] });
      expect(res.status, `${provider}: ${res.text}`).toBe(200);
      expect(sentLimit(provider), provider).toBe(256); // the policy's max_completion_tokens
    }
    // Native toward Anthropic, whose API requires the field: it goes as max_tokens.
    expect(s.h.upstreamOf('anthropic').at(-1)!.body).toMatchObject({ max_tokens: 256 });
    // A thinking budget is still checked against the limit that goes: the job's.
    const thinking = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', '/messages', { body: { thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }] } });
    expect(thinking.status).toBe(422);
    expect(thinking.body.error.message).toMatch(/thinking\.budget_tokens: must be less than max_tokens \(256\): this job caps a call at 256 tokens/);
  });

  it('counts the policy usage of every surface', async () => {
    const job = s.jobs.get('anthropic')!;
    const usage = async () => (await api(s.h.t.url, 'GET', `/api/policy-optimization/online/jobs/${job.jobId}`, { key: s.h.t.key })).body.usage.policy;
    const before = await usage();
    await post(`${job.proxyUrl}/messages`, { max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    await post(`${job.proxyUrl}/responses`, { input: 'hi', stream: true });
    await s.h.t.server.settled(); // the calls' usage is counted with their records, after the answer
    const after = await usage();
    expect(JSON.stringify(after)).not.toBe(JSON.stringify(before));
  });
});
