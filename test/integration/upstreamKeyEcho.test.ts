import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fakeAnthropic.js';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * Upstreams echo the key they were sent: OpenAI's 401 says "Incorrect API key provided: sk-...",
 * gateways quote the request's headers in their errors, and a stream can end in an `error` event
 * saying the same. miprox relays upstream errors to the client and logs some: the server's own
 * provider keys must come out of every one of them, wherever in the answer they are. Only an error
 * message used to be cleaned: a key in its `type`, `code` or `param`, or in a stream's `error` event
 * (Messages, Responses), reached the client whole.
 */
const OPENAI_KEY = 'sk-LEAKCANARY-openai-7f3a9c';
const ANTHROPIC_KEY = 'sk-ant-LEAKCANARY-anthropic-51e0';
const JOBS = '/api/policy-optimization/online/jobs';
const SYSTEM = 'Answer briefly.';
/** A job's inference_url with its credential in the query, as some gateways take it. */
const QUERY_KEY = 'qs-LEAKCANARY-key-9d2e';

describe("the server's provider keys echoed back by an upstream", () => {
  let openai: FakeUpstream;
  let anthropic: FakeAnthropic;
  let t: TestServer;
  let log = '';
  const proxies: Record<'openai' | 'anthropic' | 'gateway', string> = { openai: '', anthropic: '', gateway: '' };

  beforeAll(async () => {
    openai = await startFakeUpstream({ reply: 'ok' });
    anthropic = await startFakeAnthropic({ reply: 'ok' });
    const sink = new Writable({ write(chunk, _enc, done) { log += String(chunk); done(); } });
    t = await startTestServer({
      env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openai.url, ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: anthropic.url, UPSTREAM_MAX_RETRIES: '0', MIPROX_ALLOWED_INFERENCE_HOSTS: `127.0.0.1:${openai.port}` },
      start: { logger: pino({ level: 'trace' }, sink) },
    });
    for (const provider of ['openai', 'anthropic'] as const) {
      const model = provider === 'openai' ? 'gpt-4o-mini' : 'claude-haiku-4-5';
      const res = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ provider, model, proposerProvider: 'sim', proposerModel: 'sim-proposer', initialPrompt: SYSTEM }) });
      expect(res.status).toBe(200);
      proxies[provider] = res.body.proxy_url as string;
    }
    const inferenceUrl = `${openai.url}/gateway?api_key=${QUERY_KEY}`;
    const gateway = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ provider: 'openai_compatible', model: 'local', inferenceUrl, proposerProvider: 'sim', proposerModel: 'sim-proposer', initialPrompt: SYSTEM }) });
    expect(gateway.status).toBe(200);
    proxies.gateway = gateway.body.proxy_url as string;
  });
  afterAll(async () => {
    await t.close();
    await openai.close();
    await anthropic.close();
  });
  beforeEach(() => {
    openai.setBehavior({ reply: 'ok' });
    anthropic.setBehavior({ reply: 'ok' });
  });

  /** A proxied call as an SDK makes it (its own Authorization header included); the raw answer text. */
  async function call(provider: 'openai' | 'anthropic' | 'gateway', surface: 'chat/completions' | 'responses' | 'messages', stream: boolean): Promise<{ status: number; text: string }> {
    const body = surface === 'messages' ? { model: 'm', max_tokens: 50, stream, system: SYSTEM, messages: [{ role: 'user', content: 'hi' }] }
      : surface === 'responses' ? { model: 'm', stream, instructions: SYSTEM, input: 'hi' }
      : { model: 'm', stream, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'hi' }] };
    const res = await fetch(`${proxies[provider]}/r1/${surface}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client-own-key' },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  const expectNoKey = (text: string) => {
    expect(text).not.toContain(OPENAI_KEY);
    expect(text).not.toContain(ANTHROPIC_KEY);
    expect(text).not.toContain(QUERY_KEY);
    expect(text).not.toContain('LEAKCANARY');
  };

  it('relays a refused key as [redacted], in the message and in type, code and param alike', async () => {
    openai.setBehavior({ fail: { status: 401, message: `Incorrect API key provided: ${OPENAI_KEY}.`, type: `invalid_request_error ${OPENAI_KEY}`, code: `invalid_api_key ${OPENAI_KEY}`, param: `header ${OPENAI_KEY}` } });
    for (const surface of ['chat/completions', 'responses', 'messages'] as const) {
      for (const stream of [false, true]) {
        const { status, text } = await call('openai', surface, stream);
        expect(status).toBe(401);
        expect(text).toContain('Incorrect API key provided: [redacted].');
        expectNoKey(text);
      }
    }
  });

  it('keeps the key out of a 5xx relayed and logged', async () => {
    anthropic.setBehavior({ fail: { status: 500, message: `gateway: request had x-api-key: ${ANTHROPIC_KEY}`, type: `api_error ${ANTHROPIC_KEY}` } });
    const { status, text } = await call('anthropic', 'messages', false);
    expect(status).toBe(502);
    expect(text).toContain('x-api-key: [redacted]');
    expectNoKey(text);
    expect(log).toContain('upstream call failed');
  });

  it("removes the key from a stream's error event (Messages native, Messages translated to chat, Responses)", async () => {
    anthropic.setBehavior({ reply: 'a b c d', chunks: 4, errorEventAfterChunks: 4, errorEventMessage: `invalid x-api-key ${ANTHROPIC_KEY}` });
    for (const surface of ['messages', 'chat/completions'] as const) {
      const { status, text } = await call('anthropic', surface, true);
      expect(status).toBe(200);
      expect(text).toContain('invalid x-api-key [redacted]');
      expectNoKey(text);
    }
    openai.setBehavior({ reply: 'a b c d', chunks: 4, errorEventAfterChunks: 4, errorEventMessage: `Incorrect API key provided: ${OPENAI_KEY}` });
    const { status, text } = await call('openai', 'responses', true);
    expect(status).toBe(200);
    expect(text).toContain('Incorrect API key provided: [redacted]');
    expectNoKey(text);
  });

  it("removes the credential of a job's inference_url query from an upstream error quoting its URL", async () => {
    // A gateway refusing the call quotes its request line, query included.
    openai.setBehavior({ fail: { status: 400, message: `no model for POST /v1/gateway/chat/completions?api_key=${QUERY_KEY}` } });
    for (const stream of [false, true]) {
      const { status, text } = await call('gateway', 'chat/completions', stream);
      expect(status).toBe(400);
      expect(text).toContain('/gateway/chat/completions?api_key=[redacted]');
      expectNoKey(text);
    }
  });

  it('never writes a provider key or the client key to the log, even at trace level', () => {
    expect(log.length).toBeGreaterThan(0);
    expectNoKey(log);
    expect(log).not.toContain('sk-client-own-key');
  });
});
