import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * A job whose policy is an OpenAI reasoning model (gpt-5-mini) serving an app written for another
 * model: the proxy names the policy's model, so what the app sent must still be something a
 * reasoning model takes. openai-node src/resources/chat/completions/completions.ts: `max_tokens` "is
 * now deprecated in favor of `max_completion_tokens`, and is not compatible with o-series models".
 */
describe('chat completions to a reasoning policy', () => {
  let openai: FakeUpstream;
  let t: TestServer;
  let proxy: string;

  beforeAll(async () => {
    openai = await startFakeUpstream({ reply: 'Paris.' });
    t = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url } });
    const body = seedJobBody({ model: 'gpt-5-mini', initialPrompt: 'Answer.' });
    Object.assign(body.policy_optimization.policy, { temperature: null, max_completion_tokens: 4096 });
    proxy = ((await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: body } })).body as { proxy_url: string }).proxy_url;
  });
  afterAll(async () => {
    await t.close();
    await openai.close();
  });

  const sentFor = async (rid: string, extra: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const before = openai.requests.length;
    const res = await api(proxy, 'POST', `/${rid}/chat/completions`, { body: { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Answer.' }, { role: 'user', content: 'Capital of France?' }], ...extra } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return openai.requests.slice(before)[0]!.body as Record<string, unknown>;
  };

  it('sends the app\'s max_tokens as max_completion_tokens, which every OpenAI model takes', async () => {
    expect(await sentFor('mt-1', { max_tokens: 300 })).toEqual({
      model: 'gpt-5-mini', messages: [{ role: 'system', content: 'Answer.' }, { role: 'user', content: 'Capital of France?' }], max_completion_tokens: 300,
    });
    // Both sent: max_completion_tokens is the one OpenAI reads; still clamped to the job's cap.
    expect(await sentFor('mt-2', { max_tokens: 300, max_completion_tokens: 9000 })).toMatchObject({ max_completion_tokens: 4096 });
    expect(await sentFor('mt-3', { max_tokens: 300, max_completion_tokens: 9000 })).not.toHaveProperty('max_tokens');
    // A null max_tokens (some clients always send the key) is none: the job's limit goes.
    const none = await sentFor('mt-4', { max_tokens: null });
    expect(none).toMatchObject({ max_completion_tokens: 4096 });
    expect(none).not.toHaveProperty('max_tokens');
  });

  it('adds no temperature for a policy with temperature: null', async () => {
    expect(await sentFor('temp-1', {})).not.toHaveProperty('temperature');
  });
});
