import OpenAI from 'openai';
import { beforeEach, describe, expect, it } from 'vitest';
import { type FakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { startFakeUpstreamServer, useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, addCandidates, api, seedJobBody } from '../helpers/server.js';
import { readChatStream } from '../helpers/readStream.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';
const BASELINE = 'You are a banking intent classifier. Answer with the intent label only.';

describe('the proxy URL', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({
    upstream: { reply: 'card_lost' },
    env: { OPENAI_API_KEY: 'sk-test-upstream', UPSTREAM_TIMEOUT_MS: '400', UPSTREAM_MAX_RETRIES: '2' },
  }, (s) => ({ fake, t } = s));
  beforeEach(() => {
    fake.setBehavior({ reply: 'card_lost' });
    fake.requests.length = 0;
  });

  async function newJob(initialPrompt: string | null = BASELINE, extra: Record<string, unknown> = {}) {
    const body = seedJobBody({ ...(initialPrompt !== null ? { initialPrompt } : {}), ...extra });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(200);
    return res.body as { job_id: string; system_id: string; proxy_url: string; chat_completions_url: string };
  }

  const client = (baseURL: string) => new OpenAI({ apiKey: 'unused-by-proxy', baseURL, maxRetries: 0 });

  it('relays a completion through the official openai SDK, injecting the candidate', async () => {
    const job = await newJob();
    const { data, response } = await client(`${job.proxy_url}/trace_rollout_1`).chat.completions.create({
      model: 'whatever-the-client-says',
      messages: [{ role: 'system', content: BASELINE }, { role: 'user', content: 'I lost my card' }],
    }).withResponse();
    expect(data.choices[0]?.message.content).toBe('card_lost');
    expect(data.usage?.total_tokens).toBe(19);
    expect(response.headers.get('x-mipro-candidate-id')).toBe('baseline');
    expect(response.headers.get('x-mipro-rollout-id')).toBe('trace_rollout_1');
    const upstream = fake.requests.at(-1)!;
    const sent = upstream.body as { model: string; messages: Array<{ role: string; content: string }>; temperature: number; max_completion_tokens: number };
    expect(sent.model).toBe('gpt-4o-mini'); // the job's policy model is forced
    expect(systemPromptOf(upstream)).toBe(BASELINE); // the baseline candidate's text for module main
    expect(sent.messages).toHaveLength(2);
    expect(sent.temperature).toBe(0);
    expect(sent.max_completion_tokens).toBe(256);
    expect(upstream.headers.authorization).toBe('Bearer sk-test-upstream');
  });

  it('returns the provider body unchanged and never the candidate text', async () => {
    const job = await newJob();
    const raw = await fetch(`${job.chat_completions_url}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], temperature: 0.3, max_tokens: 5 }),
    });
    const text = await raw.text();
    expect(raw.status).toBe(200);
    expect(text).not.toContain(BASELINE);
    expect(JSON.parse(text).object).toBe('chat.completion');
    const sent = fake.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }>; temperature: number; max_tokens?: number; max_completion_tokens?: number };
    expect(sent.messages[0]).toEqual({ role: 'system', content: BASELINE }); // added when absent
    expect(sent.temperature).toBe(0.3); // the request's own values win
    // Under the name every OpenAI model takes (the policy may be a reasoning model, which refuses max_tokens).
    expect(sent.max_completion_tokens).toBe(5);
    expect(sent.max_tokens).toBeUndefined();
    expect(raw.headers.get('x-mipro-rollout-id')).toMatch(/^ro_/); // made up when the client sent none
  });

  it('serves all three path shapes and keeps the query string (seed, correlation id)', async () => {
    const job = await newJob();
    const msg = { messages: [{ role: 'user', content: 'x' }] };
    for (const path of ['/chat/completions', '/r-a/chat/completions', '/r-b/v1/chat/completions', '/v1/chat/completions']) {
      const res = await api(job.proxy_url, 'POST', `${path}?seed=7&cid=corr-1`, { body: msg });
      expect(res.status, path).toBe(200);
    }
    const rollout = await t.server.store.getRollout(job.job_id, 'r-b');
    expect(rollout).toMatchObject({ seed: 7, correlationId: 'corr-1', candidateId: 'baseline' });
    const bad = await api(job.proxy_url, 'POST', '/r-c/chat/completions?seed=minus', { body: msg });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatchObject({ param: 'seed', type: 'invalid_request_error' });
    // Only decimal digits are a seed: an empty value is not seed 0, nor is 0x10 seed 16 or 1e1 seed 10.
    for (const [i, raw] of ['', '%20', '0x10', '1e1', '+3', '4.0'].entries()) {
      const res = await api(job.proxy_url, 'POST', `/r-d${i}/chat/completions?seed=${raw}`, { body: msg });
      expect([raw, res.status, res.body.error?.param]).toEqual([raw, 422, 'seed']);
      expect(await t.server.store.getRollout(job.job_id, `r-d${i}`)).toBeNull();
    }
    const header = await api(job.proxy_url, 'POST', '/r-e/chat/completions', { body: msg, headers: { 'x-mipro-seed': '1e1' } });
    expect([header.status, header.body.error?.param]).toEqual([422, 'seed']);
  });

  it('takes only correlation ids a reward can name: an empty one is none, a longer one than a reward takes is a 422', async () => {
    const job = await newJob();
    const msg = { messages: [{ role: 'user', content: 'x' }] };
    expect((await api(job.proxy_url, 'POST', '/c-empty/chat/completions?cid=', { body: msg })).status).toBe(200);
    expect(await t.server.store.getRollout(job.job_id, 'c-empty')).toMatchObject({ correlationId: null });
    const long = 'c'.repeat(257);
    for (const [i, where] of [{ query: `?correlation_id=${long}` }, { headers: { 'x-mipro-correlation-id': long } }].entries()) {
      const res = await api(job.proxy_url, 'POST', `/c-long${i}/chat/completions${where.query ?? ''}`, { body: msg, headers: where.headers ?? {} });
      expect([res.status, res.body.error?.param]).toEqual([422, 'correlation_id']);
      expect(await t.server.store.getRollout(job.job_id, `c-long${i}`)).toBeNull();
    }
    // Nor a query parameter given twice (one id or two, it is no one id a reward can name).
    for (const [i, query] of ['?cid=a&cid=b', '?correlation_id=a&correlation_id=a'].entries()) {
      const res = await api(job.proxy_url, 'POST', `/c-bad${i}/chat/completions${query}`, { body: msg });
      expect([query, res.status, res.body.error?.param]).toEqual([query, 422, 'correlation_id']);
      expect(await t.server.store.getRollout(job.job_id, `c-bad${i}`)).toBeNull();
    }
    // The longest one the proxy takes is one a reward can name.
    const longest = 'c'.repeat(256);
    expect((await api(job.proxy_url, 'POST', `/c-max/chat/completions?cid=${longest}`, { body: msg })).status).toBe(200);
    const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { correlation_id: longest, reward_info: { score: 1 } } });
    expect([reward.status, reward.body.rollout_id]).toEqual([200, 'c-max']);
    // The session's prompt URLs hand out only such ids.
    const prompt = (cid: string) => api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/prompt?correlation_id=${cid}`, { key: t.key });
    const refused = await prompt(long);
    expect([refused.status, refused.body.error.details[0].path]).toEqual([422, 'correlation_id']);
    const twice = await prompt('a&correlation_id=b');
    expect([twice.status, twice.body.error?.details[0].path]).toEqual([422, 'correlation_id']);
    expect((await prompt('')).body).toMatchObject({ correlation_id: null, chat_completions_url: `${job.proxy_url}/chat/completions` });
  });

  it('passes tools, tool_choice and response_format through', async () => {
    const job = await newJob();
    const tools = [{ type: 'function', function: { name: 'classify', parameters: { type: 'object', properties: { intent: { type: 'string' } } } } }];
    fake.setBehavior({ toolCalls: [{ name: 'classify', arguments: '{"intent":"card_lost"}' }] });
    const res = await client(`${job.proxy_url}/tools-1`).chat.completions.create({
      model: 'x', messages: [{ role: 'user', content: 'lost card' }], tools: tools as never, tool_choice: 'required', response_format: { type: 'json_object' },
    });
    expect(res.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'classify', arguments: '{"intent":"card_lost"}' } });
    const sent = fake.requests.at(-1)!.body as Record<string, unknown>;
    expect(sent.tools).toEqual(tools);
    expect(sent.tool_choice).toBe('required');
    expect(sent.response_format).toEqual({ type: 'json_object' });
    await waitFor(async () => (await t.server.store.getRollout(job.job_id, 'tools-1'))?.outputText?.includes('classify') ?? false);
  });

  it('streams SSE chunk by chunk through the SDK, keeping usage', async () => {
    const job = await newJob();
    fake.setBehavior({ reply: 'The intent is card_lost', chunks: 5 });
    const stream = await client(`${job.proxy_url}/stream-1`).chat.completions.create({
      model: 'x', messages: [{ role: 'user', content: 'lost' }], stream: true, stream_options: { include_usage: true },
    });
    const { text, chunks, totalTokens } = await readChatStream(stream);
    expect(text).toBe('The intent is card_lost');
    expect(chunks).toBeGreaterThanOrEqual(5);
    expect(totalTokens).toBe(19);
    await waitFor(async () => (await t.server.store.getRollout(job.job_id, 'stream-1'))?.status === 'completed');
    const record = await t.server.store.getRollout(job.job_id, 'stream-1');
    expect(record).toMatchObject({ outputText: 'The intent is card_lost', callCount: 1, usage: { total_tokens: 19 } });
    expect(record?.inputMessages).toEqual([{ role: 'user', content: 'lost' }]);
    expect(record?.latencyMs).toBeGreaterThan(0);
  });

  it('discovers a module per distinct system text when the job has no initial_prompt, never mixing them up', async () => {
    const job = await newJob(null);
    await client(`${job.proxy_url}/first`).chat.completions.create({ model: 'x', messages: [{ role: 'system', content: 'My own prompt.' }, { role: 'user', content: 'q' }] });
    await client(`${job.proxy_url}/second`).chat.completions.create({ model: 'x', messages: [{ role: 'system', content: 'A different prompt.' }, { role: 'user', content: 'q' }] });
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('A different prompt.');
    const got = await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key });
    expect(got.body.modules).toEqual([
      { name: 'm1', template: 'My own prompt.', origin: 'discovered' },
      { name: 'm2', template: 'A different prompt.', origin: 'discovered' },
    ]);
    expect(got.body.candidates.map((c: { instruction: string }) => c.instruction)).toEqual(['My own prompt.']);
    expect(got.body.best_program).toEqual({ m1: 'My own prompt.', m2: 'A different prompt.' });
  });

  it('gives every call of one rollout id the same candidate', async () => {
    const job = await newJob(BASELINE, { mipro: { online_rollouts_per_candidate: 1 } });
    await addCandidates(t.server.store, job.job_id, ['A', 'B', 'C'].map((x) => `cand_${x}_${job.job_id.slice(3, 9)}`));
    await new Promise((r) => setTimeout(r, 1100)); // let the instance's 1 s cache see the new candidates
    const seenByRollout = new Map<string, Set<string>>();
    for (let i = 0; i < 8; i++) {
      for (let call = 0; call < 3; call++) {
        const res = await api(job.proxy_url, 'POST', `/multi-${i}/chat/completions`, { body: { messages: [{ role: 'user', content: `turn ${call}` }] } });
        const set = seenByRollout.get(`multi-${i}`) ?? new Set();
        set.add(res.headers.get('x-mipro-candidate-id')!);
        seenByRollout.set(`multi-${i}`, set);
      }
    }
    for (const [, set] of seenByRollout) expect(set.size).toBe(1);
    const used = new Set([...seenByRollout.values()].flatMap((s) => [...s]));
    expect(used.size).toBeGreaterThan(1); // the nursery sends traffic to new candidates
    expect((await t.server.store.getRollout(job.job_id, 'multi-0'))?.callCount).toBe(3);
  });

  it('accepts rollout ids as long as the reward API does (256) and refuses longer ones in OpenAI shape', async () => {
    const job = await newJob();
    const longest = 'r'.repeat(256);
    const ok = await api(job.proxy_url, 'POST', `/${longest}/chat/completions`, { body: { messages: [{ role: 'user', content: 'x' }] } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-mipro-rollout-id')).toBe(longest);
    const tooLong = await api(job.proxy_url, 'POST', `/${longest}r/chat/completions`, { body: { messages: [{ role: 'user', content: 'x' }] } });
    expect(tooLong.status).toBe(414);
    expect(tooLong.body.error).toMatchObject({ message: expect.stringContaining('longer than 256 characters'), type: 'invalid_request_error' });
    expect(tooLong.headers.get('x-request-id')).toMatch(/\S/);
  });

  describe('failure paths answer in OpenAI error shape', () => {
    const call = async (proxyUrl: string, body: unknown = { messages: [{ role: 'user', content: 'x' }] }) => api(proxyUrl, 'POST', '/chat/completions', { body });

    it('refuses a malformed request with every field and its reason in the message, calling no model', async () => {
      const job = await newJob();
      const empty = await call(job.proxy_url, { messages: [] });
      expect(empty.status).toBe(422);
      expect(empty.body.error).toMatchObject({ param: 'messages', type: 'invalid_request_error', message: 'invalid request: messages: must contain at least one message' });
      const two = await call(job.proxy_url, { messages: 'hi', temperature: 7 });
      expect(two.body.error.message).toMatch(/messages: .*array.*; temperature: .*2/);
      expect(fake.requests.length).toBe(0);
    });

    it('retries a 429 (honouring retry-after) and succeeds', async () => {
      const job = await newJob();
      fake.setBehavior({ reply: 'ok after retry', fail: { status: 429, times: 1, retryAfter: '0' } });
      const res = await call(job.proxy_url);
      expect(res.status).toBe(200);
      expect(res.body.choices[0].message.content).toBe('ok after retry');
      expect(fake.requests.length).toBe(2);
    });

    it('gives up on a 500 after the retries with a 502', async () => {
      const job = await newJob();
      fake.setBehavior({ fail: { status: 500, message: 'boom' } });
      const res = await call(job.proxy_url);
      expect(res.status).toBe(502);
      expect(res.body.error).toMatchObject({ message: expect.stringContaining('boom'), type: expect.any(String) });
      // Retried, within UPSTREAM_MAX_RETRIES (2) and the 400 ms deadline that bounds the backoff.
      expect(fake.requests.length).toBeGreaterThanOrEqual(2);
      expect(fake.requests.length).toBeLessThanOrEqual(3);
      await waitFor(async () => (await t.server.store.listCandidates(job.job_id))[0]?.dispatches === 1);
    });

    it('keeps an upstream 4xx status and message', async () => {
      const job = await newJob();
      fake.setBehavior({ fail: { status: 400, message: 'context length exceeded', type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' } });
      const res = await call(job.proxy_url);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('context length exceeded');
      // The whole of OpenAI's error, the field it names included (it was null).
      expect(res.body.error).toEqual({ message: 'context length exceeded', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' });
      expect(fake.requests.length).toBe(1); // 4xx is not retried
    });

    it('names a message of an upstream 4xx by the client\'s index, not by the index in what miprox sent', async () => {
      // A templated module takes a call without a system message and adds its text before the client's messages.
      const job = await newJob('Answer about {topic}.');
      const body = { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }, { role: 'user', content: 'z' }], mipro: { variables: { topic: 'cards' } } };
      const param = async (upstream: string) => {
        fake.setBehavior({ fail: { status: 400, message: 'bad message', type: 'invalid_request_error', code: 'invalid_value', param: upstream } });
        const res = await call(job.proxy_url, body);
        expect(res.status).toBe(400);
        expect(systemPromptOf(fake.requests.at(-1)!)).toBe('Answer about cards.');
        return res.body.error.param as string | null;
      };
      expect(await param('messages[2].content')).toBe('messages[1].content');
      expect(await param('messages.[3]')).toBe('messages.[2]');
      // The module's text: no message the client sent.
      expect(await param('messages[0].content')).toBeNull();
      expect(await param('messages')).toBe('messages');
    });

    it('times out a hanging upstream with a 504', async () => {
      const job = await newJob();
      fake.setBehavior({ hang: true });
      const res = await call(job.proxy_url);
      expect(res.status).toBe(504);
      expect(res.body.error.message).toMatch(/did not answer within 400 ms/);
      // A Messages client gets Anthropic's type for a gateway timeout, as Anthropic's own 504 has.
      const messages = await fetch(`${job.proxy_url}/messages`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(messages.status).toBe(504);
      expect(await messages.json()).toMatchObject({ type: 'error', error: { type: 'timeout_error', message: expect.stringMatching(/did not answer within 400 ms/) } });
    });

    it('ends a stream that breaks mid-way with an error event, never a silent cut', async () => {
      const job = await newJob();
      fake.setBehavior({ reply: 'one two three four five six', chunks: 6, dropAfterChunks: 2 });
      const res = await fetch(`${job.chat_completions_url}`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('"error"');
      expect(text).not.toContain('[DONE]');
      const stream = await client(job.proxy_url).chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'x' }], stream: true });
      await expect((async () => { for await (const _ of stream) { /* drain */ } })()).rejects.toThrow();
    });

    it('aborts the upstream request when the client goes away', async () => {
      const job = await newJob();
      // A 20 s stream: only the client's departure ends it early, however long that takes to reach the upstream.
      fake.setBehavior({ reply: 'a b c d e f g h i j '.repeat(10), chunks: 100, chunkDelayMs: 200 });
      const ac = new AbortController();
      const res = await fetch(`${job.chat_completions_url}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
        body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
      const closedBefore = fake.stats.closedEarly;
      const reader = res.body!.getReader();
      await reader.read();
      ac.abort();
      await waitFor(async () => fake.stats.closedEarly > closedBefore, 15_000);
    });

    it('404s an unknown system; a cancelled job keeps serving its baseline', async () => {
      const unknown = await call(`${t.url}/api/mipro/v1/sys_00000000000000000000000000000000`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatchObject({ type: 'not_found_error', message: expect.stringContaining('unknown system') });
      const job = await newJob();
      await api(t.url, 'POST', `${JOBS}/${job.job_id}/cancel`, { key: t.key });
      const finished = await call(job.proxy_url);
      expect(finished.status).toBe(200);
    });

    it('rejects a malformed body without calling upstream', async () => {
      const job = await newJob();
      const noMessages = await call(job.proxy_url, { model: 'x' });
      expect(noMessages.status).toBe(422);
      expect(noMessages.body.error).toMatchObject({ param: 'messages', type: 'invalid_request_error' });
      const broken = await api(job.proxy_url, 'POST', '/chat/completions', { rawBody: '{"messages": [' });
      expect(broken.status).toBe(400);
      expect(broken.body.error.type).toBe('invalid_request_error');
      expect(fake.requests.length).toBe(0);
    });
  });
});

describe('the proxy with a patient upstream timeout', () => {
  it('aborts a non-streaming upstream call when the client goes away', async () => {
    // UPSTREAM_TIMEOUT_MS is long here, so only the client's departure can end the upstream call.
    const { fake, t, close } = await startFakeUpstreamServer({ upstream: { delayMs: 20_000 }, env: { UPSTREAM_TIMEOUT_MS: '60000' } });
    try {
      const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: BASELINE }) })).body;
      const ac = new AbortController();
      const pending = fetch(`${job.chat_completions_url}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
        body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }),
      }).catch(() => undefined);
      await waitFor(async () => fake.requests.length > 0, 5000);
      ac.abort();
      await pending;
      await waitFor(async () => fake.stats.closedEarly > 0, 10_000); // long before the fake's 20 s answer
    } finally {
      await close();
    }
  });
});
