import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * Fields the public SDKs send (openai 6 `chat.completions` / `responses`, @anthropic-ai/sdk 1
 * `messages`) that the proxy answered with a 500, a 422 their API does not give, dropped where chat
 * completions has the same field, or carried where the provider has no such step (docs/API.md,
 * "What the SDKs send").
 */
const s = useSurfaceHarness(['openai', 'anthropic', 'openai_compatible']);
let n = 0;

async function call(provider: PolicyProvider, surface: string, body: Record<string, unknown>): Promise<{ status: number; body: any; rid: string }> {
  const rid = `sdk-fields-${n++}`;
  const res = await api(s.jobs.get(provider)!.proxyUrl, 'POST', `/${rid}/${surface}`, { body: { model: 'm', ...body } });
  return { status: res.status, body: res.body, rid };
}

const ok = (res: { status: number; body: unknown }): void => {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
};
const chatQuestion = [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Capital of France?' }];

describe('chat `stream: null` (the openai SDK types it boolean | null)', () => {
  it.each(['openai', 'anthropic', 'openai_compatible'] as const)('is a JSON call on %s, not a 422', async (provider) => {
    const res = await call(provider, 'chat/completions', { messages: chatQuestion, stream: null });
    ok(res);
    expect(res.body.object).toBe('chat.completion');
  });
});
