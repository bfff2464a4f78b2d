import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A provider's wait hint on a 5xx it gives up on. Anthropic may send `retry-after` with a 529
 * `overloaded_error`, OpenAI with a 500; both SDKs honour `retry-after-ms` / `retry-after` on any
 * status they retry. The proxy honoured the hint for its own retries but relayed it only with a 429
 * or 503, so the client's SDK retried an overloaded provider after its own half-second backoff, each
 * retry three more upstream attempts, where talking to the provider directly it would have waited.
 */
const s = useSurfaceHarness(['anthropic', 'openai']);
let n = 0;

describe('a provider 5xx retry-after through the proxy', () => {
  it('Anthropic 529 overloaded_error: the 502 carries retry-after-ms and retry-after (Messages, native)', async () => {
    s.h.anthropic.setBehavior({ reply: 'Paris.', fail: { status: 529, type: 'overloaded_error', message: 'Overloaded', headers: { 'retry-after-ms': '40', 'retry-after': '1' } } });
    const anthropic = new Anthropic({ apiKey: 'unused', baseURL: `${s.jobs.get('anthropic')!.proxyUrl}/retry-after-${n++}`, maxRetries: 0 });
    const err = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    const e = err as InstanceType<typeof Anthropic.InternalServerError>;
    expect([e.status, e.type]).toEqual([502, 'overloaded_error']);
    expect([e.headers?.get('retry-after-ms'), e.headers?.get('retry-after')]).toEqual(['40', '1']);
    expect(s.h.anthropic.requests).toHaveLength(3); // the proxy's own attempts, as before
  });

  it('OpenAI 500 with retry-after-ms, on chat completions: openai-node waits what the provider asked before its retry', async () => {
    // The proxy's three attempts fail, each 1.2 s apart as asked; then the SDK's retry succeeds.
    s.h.openai.setBehavior({ reply: 'Paris.', fail: { status: 500, times: 3, message: 'The server had an error', headers: { 'retry-after-ms': '1200' } } });
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${s.jobs.get('openai')!.proxyUrl}/retry-after-${n++}/v1`, maxRetries: 1 });
    const answer = await openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toBe('Paris.');
    const at = s.h.openai.requests.map((r) => r.receivedAt);
    expect(at).toHaveLength(4);
    // Before: openai-node's own backoff (0.5 s to 1 s, jittered) between the 502 and its retry.
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(1_150);
  }, 15_000);
});
