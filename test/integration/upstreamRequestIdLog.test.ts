import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/fakeAnthropic.js';
import { startFakeUpstream, type FakeUpstream } from '../fakes/fakeUpstream.js';
import { api, seedJobBody, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The provider's own request id of a failed upstream attempt (OpenAI's `x-request-id`, Anthropic's
 * `request-id`). The client never gets it (its SDK's `requestID` is miprox's id: docs/API.md), so the
 * log is the only place an operator can find it to quote to the provider; it was not logged.
 */
describe('the provider\'s request id in the failure log', () => {
  let oa: FakeUpstream;
  let an: FakeAnthropic;
  let t: TestServer;
  const lines: Array<Record<string, unknown>> = [];
  const jobs: Record<'openai' | 'anthropic', { proxy_url: string }> = {} as never;

  beforeAll(async () => {
    oa = await startFakeUpstream({ reply: 'ok' });
    an = await startFakeAnthropic({ reply: 'ok' });
    const sink = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); cb(); } });
    t = await startTestServer({
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: oa.url, ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: an.url, UPSTREAM_MAX_RETRIES: '1' },
      start: { logger: pino({ level: 'warn' }, sink) },
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

  const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('OpenAI 500: the retry line and the final line name the x-request-id of their attempt', async () => {
    oa.setBehavior({ reply: 'ok', fail: { status: 500, message: 'The server had an error', headers: { 'x-request-id': 'req_openai_500' } } });
    lines.length = 0;
    const res = await post(`${jobs.openai.proxy_url}/rid-openai/chat/completions`, { model: 'x', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(502);
    expect(res.headers.get('x-request-id')).not.toBe('req_openai_500');
    const retry = lines.find((l) => l.msg === 'retrying upstream call');
    const failed = lines.find((l) => l.msg === 'upstream call failed');
    expect(retry?.upstreamRequestId).toBe('req_openai_500');
    expect(failed?.upstreamRequestId).toBe('req_openai_500');
  });

  it('Anthropic 529 on the Messages surface: request-id, and a 401 (refused key) too', async () => {
    an.setBehavior({ reply: 'ok', fail: { status: 529, type: 'overloaded_error', message: 'Overloaded', headers: { 'request-id': 'req_011CAnthropic' } } });
    lines.length = 0;
    const body = { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
    expect((await post(`${jobs.anthropic.proxy_url}/rid-anthropic/v1/messages`, body)).status).toBe(502);
    expect(lines.find((l) => l.msg === 'upstream call failed')?.upstreamRequestId).toBe('req_011CAnthropic');

    an.setBehavior({ reply: 'ok', fail: { status: 401, type: 'authentication_error', message: 'invalid x-api-key', headers: { 'request-id': 'req_011CKey' } } });
    lines.length = 0;
    expect((await post(`${jobs.anthropic.proxy_url}/rid-anthropic-401/v1/messages`, body)).status).toBe(401);
    expect(lines.find((l) => l.msg === 'upstream call failed')?.upstreamRequestId).toBe('req_011CKey');
  });

  it('a request id that is no id (too long, control characters) is left out', async () => {
    oa.setBehavior({ reply: 'ok', fail: { status: 500, message: 'boom', headers: { 'x-request-id': 'x'.repeat(300) } } });
    lines.length = 0;
    expect((await post(`${jobs.openai.proxy_url}/rid-long/chat/completions`, { model: 'x', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(502);
    const failed = lines.find((l) => l.msg === 'upstream call failed');
    expect(failed).toBeDefined();
    expect(failed?.upstreamRequestId).toBeUndefined();
  });
});
