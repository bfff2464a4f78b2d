import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/fakeAnthropic.js';
import { startFakeUpstream, type FakeUpstream } from '../fakes/fakeUpstream.js';
import { api, seedJobBody, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A provider that answers a streaming call with HTTP 200 and then, as the stream's first event (or
 * after the events that open every answer), its error (Anthropic's `overloaded_error` when
 * overloaded; a chat `data: {"error":...}`; a Responses `error` or `response.failed`). Driven by the real SDKs at their default retries (2): what the client
 * sees, how often each side tries, and what the rollout records. Before, the proxy relayed a 200 whose
 * first event was the error, which neither SDK retries (they retry on a status only).
 */
interface Attempt { status: number; candidate: string | null; shouldRetry: string | null; body: string }

/** fetch that notes every attempt the SDK makes (its retries included), with the body of an error answer. */
function tracing(log: Attempt[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const body = res.status === 200 ? '' : await res.clone().text();
    log.push({ status: res.status, candidate: res.headers.get('x-mipro-candidate-id'), shouldRetry: res.headers.get('x-should-retry'), body });
    return res;
  };
}

describe('a provider error at the start of a 200 stream', () => {
  let oa: FakeUpstream;
  let an: FakeAnthropic;
  let t: TestServer;
  const jobs: Record<'openai' | 'anthropic', { system_id: string; proxy_url: string }> = {} as never;
  let n = 0;

  beforeAll(async () => {
    oa = await startFakeUpstream({ reply: 'ok' });
    an = await startFakeAnthropic({ reply: 'ok' });
    t = await startTestServer({
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: oa.url, ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: an.url, UPSTREAM_TIMEOUT_MS: '3000' },
    });
    for (const provider of ['openai', 'anthropic'] as const) {
      const body = seedJobBody({ provider, model: provider === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o-mini', proposerProvider: 'sim', proposerModel: 'sim-proposer' });
      const res = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      jobs[provider] = res.body;
    }
  });
  afterAll(async () => {
    await t.close();
    await oa.close();
    await an.close();
  });
  beforeEach(() => {
    oa.requests.length = 0;
    an.requests.length = 0;
    oa.setBehavior({ reply: 'abcdef', chunks: 3 });
    an.setBehavior({ reply: 'abcdef', chunks: 3 });
  });

  /** The rollout's calls once recorded, `seq:ok|failed`, and whether one candidate served them all. */
  async function recorded(provider: 'openai' | 'anthropic', rid: string): Promise<{ calls: string[]; candidates: string[] }> {
    await t.server.settled();
    const v = (await api(t.url, 'GET', `/api/systems/${jobs[provider].system_id}/rollouts/${rid}`, { key: t.key })).body;
    return { calls: v.calls.map((c: { seq: number; failed: boolean }) => `${c.seq}:${c.failed ? 'failed' : 'ok'}`), candidates: [v.candidate_id] };
  }

  const oneCandidate = (attempts: Attempt[]): boolean => new Set(attempts.map((a) => a.candidate)).size === 1 && attempts[0]!.candidate !== null;

  async function chatStream(provider: 'openai' | 'anthropic', rid: string, attempts: Attempt[]): Promise<string> {
    const llm = new OpenAI({ baseURL: `${jobs[provider].proxy_url}/${rid}/v1`, apiKey: 'unused', fetch: tracing(attempts) });
    const stream = await llm.chat.completions.create({ model: 'x', stream: true, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    return text;
  }

  async function messagesStream(provider: 'openai' | 'anthropic', rid: string, attempts: Attempt[]): Promise<string> {
    const llm = new Anthropic({ baseURL: `${jobs[provider].proxy_url}/${rid}`, apiKey: 'unused', fetch: tracing(attempts) });
    const final = await llm.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    return final.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  }

  async function responsesStream(rid: string, attempts: Attempt[]): Promise<string> {
    const llm = new OpenAI({ baseURL: `${jobs.openai.proxy_url}/${rid}/v1`, apiKey: 'unused', fetch: tracing(attempts) });
    const stream = await llm.responses.create({ model: 'x', stream: true, instructions: 'Be brief.', input: 'hi' });
    let text = '';
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'error' || ev.type === 'response.failed') throw new Error(`stream failed: ${JSON.stringify(ev)}`);
    }
    return text;
  }

  it('chat completions (openai): a server_error event past the proxy\'s retries is a 502 openai-node retries, on the same candidate, one failed call', async () => {
    oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3, type: 'server_error' } });
    const rid = `chat-${n++}`;
    const attempts: Attempt[] = [];
    // Before: a 200 whose first event was the error; openai-node threw it without retrying.
    expect(await chatStream('openai', rid, attempts)).toBe('abcdef');
    expect(attempts.map((a) => a.status)).toEqual([502, 200]);
    expect(JSON.parse(attempts[0]!.body)).toMatchObject({ error: { message: expect.stringMatching(/^openai failed with server_error at the start of its stream: The server had an error/) } });
    expect(oa.requests).toHaveLength(4); // the proxy's 3 attempts, then the SDK's retry
    expect(oneCandidate(attempts)).toBe(true);
    expect((await recorded('openai', rid)).calls).toEqual(['1:failed', '2:ok']);
  });

  it('chat completions (openai): one error event is retried by the proxy itself; the client sees one 200 and one successful call', async () => {
    oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 1, type: 'rate_limit_exceeded' } });
    const rid = `chat-once-${n++}`;
    const attempts: Attempt[] = [];
    expect(await chatStream('openai', rid, attempts)).toBe('abcdef');
    expect(attempts.map((a) => a.status)).toEqual([200]);
    expect(oa.requests).toHaveLength(2);
    expect((await recorded('openai', rid)).calls).toEqual(['1:ok']);
  });

  it('Messages (anthropic, native): overloaded_error past the proxy\'s retries is a 502 in Anthropic\'s shape, retried by the Anthropic SDK', async () => {
    an.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3 } });
    const rid = `messages-${n++}`;
    const attempts: Attempt[] = [];
    expect(await messagesStream('anthropic', rid, attempts)).toBe('abcdef');
    expect(attempts.map((a) => a.status)).toEqual([502, 200]);
    // As an exhausted 529 answers: the provider's type kept, so the SDK and the app see "overloaded".
    expect(JSON.parse(attempts[0]!.body)).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'anthropic failed with overloaded_error at the start of its stream: Overloaded' } });
    expect(an.requests).toHaveLength(4);
    expect(oneCandidate(attempts)).toBe(true);
    expect((await recorded('anthropic', rid)).calls).toEqual(['1:failed', '2:ok']);
  });

  it('Messages (anthropic, native): rate_limit_error is a 429 (not retried twice over: the SDK waits its own backoff)', async () => {
    an.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3, type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' } });
    const rid = `messages-429-${n++}`;
    const attempts: Attempt[] = [];
    expect(await messagesStream('anthropic', rid, attempts)).toBe('abcdef');
    expect(attempts.map((a) => a.status)).toEqual([429, 200]);
    expect(JSON.parse(attempts[0]!.body)).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' } });
    expect((await recorded('anthropic', rid)).calls).toEqual(['1:failed', '2:ok']);
  });

  it('a first-event error the provider marks x-should-retry: false is tried once by the proxy and once by the SDK', async () => {
    an.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { headers: { 'x-should-retry': 'false' } } });
    const rid = `no-retry-${n++}`;
    const attempts: Attempt[] = [];
    await expect(messagesStream('anthropic', rid, attempts)).rejects.toMatchObject({ status: 502 });
    expect(attempts.map((a) => [a.status, a.shouldRetry])).toEqual([[502, 'false']]);
    expect(an.requests).toHaveLength(1);
    expect((await recorded('anthropic', rid)).calls).toEqual(['1:failed']);
  });

  it('an error of the request itself (invalid_request_error) is its 400, retried by neither', async () => {
    an.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { type: 'invalid_request_error', message: 'messages: text content blocks must be non-empty' } });
    const rid = `invalid-${n++}`;
    const attempts: Attempt[] = [];
    await expect(messagesStream('anthropic', rid, attempts)).rejects.toMatchObject({ status: 400 });
    expect(attempts.map((a) => a.status)).toEqual([400]);
    expect(JSON.parse(attempts[0]!.body)).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'messages: text content blocks must be non-empty' } });
    expect(an.requests).toHaveLength(1);
    expect((await recorded('anthropic', rid)).calls).toEqual(['1:failed']);
  });

  it('an error type no provider documents stays the 200 stream carrying the provider\'s own event, recorded failed once', async () => {
    an.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { type: 'mystery_error', message: 'something odd' } });
    const rid = `unknown-${n++}`;
    const attempts: Attempt[] = [];
    await expect(messagesStream('anthropic', rid, attempts)).rejects.toThrow(/something odd/);
    expect(attempts.map((a) => a.status)).toEqual([200]);
    expect(an.requests).toHaveLength(1);
    expect((await recorded('anthropic', rid)).calls).toEqual(['1:failed']);
  });

  it('Responses (openai, native): an error event, or response.failed, before anything else is retried like the status', async () => {
    oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3, type: 'server_error' } });
    const rid = `responses-${n++}`;
    const attempts: Attempt[] = [];
    expect(await responsesStream(rid, attempts)).toBe('abcdef');
    expect(attempts.map((a) => a.status)).toEqual([502, 200]);
    expect(JSON.parse(attempts[0]!.body)).toMatchObject({ error: { message: expect.stringMatching(/^openai failed with server_error at the start of its stream/) } });
    expect(oneCandidate(attempts)).toBe(true);
    expect((await recorded('openai', rid)).calls).toEqual(['1:failed', '2:ok']);

    oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 1, type: 'server_error', event: 'response.failed' } });
    oa.requests.length = 0;
    const failedRid = `responses-failed-${n++}`;
    const once: Attempt[] = [];
    expect(await responsesStream(failedRid, once)).toBe('abcdef');
    expect(once.map((a) => a.status)).toEqual([200]);
    expect(oa.requests).toHaveLength(2);
    expect((await recorded('openai', failedRid)).calls).toEqual(['1:ok']);
  });

  it('Responses (openai, native): an error that carries only a code (OpenAI\'s documented `error` event, `response.failed`) is answered as its code\'s status and type', async () => {
    // OpenAI documents the `error` event as {type:"error", code, message, param} and response.error as
    // {code, message}: no error type. rate_limit_exceeded is its 429, typed as the Responses surface types a 429.
    for (const event of ['error', 'response.failed'] as const) {
      oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3, type: 'rate_limit_exceeded', message: 'Rate limit reached for requests', event } });
      const res = await fetch(`${jobs.openai.proxy_url}/responses-code-${event}-${n++}/v1/responses`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', stream: true, input: 'hi' }),
      });
      expect([event, res.status]).toEqual([event, 429]);
      expect(await res.json()).toEqual({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null, message: 'Rate limit reached for requests' } });
    }
  });

  it('after the events that open every answer (nothing of it yet): Responses\' overloaded error, as OpenAI sends it, is retried like its 503', async () => {
    // response.created, response.in_progress, then `error: {type: service_unavailable_error, code: server_is_overloaded}`.
    oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3, afterOpening: true, nested: true } });
    const rid = `responses-opened-${n++}`;
    const attempts: Attempt[] = [];
    expect(await responsesStream(rid, attempts)).toBe('abcdef');
    expect(attempts.map((a) => a.status)).toEqual([502, 200]);
    expect(JSON.parse(attempts[0]!.body)).toMatchObject({ error: { type: 'service_unavailable_error', message: expect.stringMatching(/server_is_overloaded|service_unavailable_error/) } });
    expect(oa.requests).toHaveLength(4);
    expect((await recorded('openai', rid)).calls).toEqual(['1:failed', '2:ok']);
  });

  it('after the events that open every answer: Anthropic\'s message_start and ping, chat\'s role chunk; one error is retried by the proxy alone', async () => {
    an.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 1, afterOpening: true } });
    const messagesRid = `messages-opened-${n++}`;
    const messagesAttempts: Attempt[] = [];
    expect(await messagesStream('anthropic', messagesRid, messagesAttempts)).toBe('abcdef');
    expect(messagesAttempts.map((a) => a.status)).toEqual([200]);
    expect(an.requests).toHaveLength(2);
    expect((await recorded('anthropic', messagesRid)).calls).toEqual(['1:ok']);

    oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 1, afterOpening: true, type: 'server_error' } });
    const chatRid = `chat-opened-${n++}`;
    const chatAttempts: Attempt[] = [];
    expect(await chatStream('openai', chatRid, chatAttempts)).toBe('abcdef');
    expect(chatAttempts.map((a) => a.status)).toEqual([200]);
    expect(oa.requests).toHaveLength(2);
    expect((await recorded('openai', chatRid)).calls).toEqual(['1:ok']);
  });

  it('translated calls: a chat client of an anthropic policy, a Messages client of an openai one, get the status of the upstream\'s error', async () => {
    an.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3 } });
    const chatRid = `chat-to-anthropic-${n++}`;
    const chatAttempts: Attempt[] = [];
    expect(await chatStream('anthropic', chatRid, chatAttempts)).toBe('abcdef');
    expect(chatAttempts.map((a) => a.status)).toEqual([502, 200]);
    expect(JSON.parse(chatAttempts[0]!.body)).toMatchObject({ error: { type: 'overloaded_error' } });
    expect((await recorded('anthropic', chatRid)).calls).toEqual(['1:failed', '2:ok']);

    oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3, type: 'rate_limit_exceeded', message: 'Rate limit reached for requests' } });
    const messagesRid = `messages-to-openai-${n++}`;
    const messagesAttempts: Attempt[] = [];
    expect(await messagesStream('openai', messagesRid, messagesAttempts)).toBe('abcdef');
    expect(messagesAttempts.map((a) => a.status)).toEqual([429, 200]);
    // The Messages surface's shape, Anthropic's type for the status (OpenAI's `requests` is no Anthropic type), OpenAI's in the message.
    expect(JSON.parse(messagesAttempts[0]!.body)).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached for requests (upstream error type: requests)' } });
    expect((await recorded('openai', messagesRid)).calls).toEqual(['1:failed', '2:ok']);
  });

  it('translated to openai, a 5xx error at the start of the stream reaches a Messages client as a 502 api_error, OpenAI\'s type in the message', async () => {
    oa.setBehavior({ reply: 'abcdef', chunks: 3, streamError: { times: 3, type: 'server_error' } });
    const rid = `messages-to-openai-5xx-${n++}`;
    const attempts: Attempt[] = [];
    expect(await messagesStream('openai', rid, attempts)).toBe('abcdef');
    expect(attempts.map((a) => a.status)).toEqual([502, 200]);
    expect(JSON.parse(attempts[0]!.body)).toEqual({
      type: 'error',
      error: { type: 'api_error', message: expect.stringMatching(/^openai failed with server_error at the start of its stream: .* \(upstream error type: server_error\)$/) },
    });
  });
});
