import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';

/**
 * The request id a client library reports. openai-node reads `x-request-id` (miprox's id on every
 * answer); `@anthropic-ai/sdk` reads `request-id`, as Anthropic sends it, into an error's `requestID`,
 * a message's `_request_id` and its retry log lines. Without that header on the Messages surface the
 * Anthropic SDK reported no request id at all through the proxy, where Anthropic itself gives one.
 */
const PROVIDERS: PolicyProvider[] = ['anthropic', 'openai'];
const s = useSurfaceHarness(PROVIDERS);
let n = 0;

describe.each(PROVIDERS)('request ids through the proxy, provider %s', (provider) => {
  const base = () => `${s.jobs.get(provider)!.proxyUrl}/request-id-${n++}`;

  it('@anthropic-ai/sdk: an upstream error carries requestID, the same id as x-request-id', async () => {
    s.h.anthropic.setBehavior({ reply: 'Paris.', fail: { status: 400, message: 'bad field' } });
    s.h.openai.setBehavior({ reply: 'Paris.', fail: { status: 400, message: 'bad field' } });
    const anthropic = new Anthropic({ apiKey: 'unused', baseURL: base(), maxRetries: 0 });
    const err = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const e = err as InstanceType<typeof Anthropic.BadRequestError>;
    expect(e.requestID).toMatch(/^req_/);
    expect(e.requestID).toBe(e.headers?.get('x-request-id'));
  });

  it('@anthropic-ai/sdk: a message (JSON and streamed) carries _request_id', async () => {
    const anthropic = new Anthropic({ apiKey: 'unused', baseURL: base(), maxRetries: 0 });
    const { data, response } = await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    // Set by the SDK from the answer's `request-id` (not in the Message type).
    const requestId = (data as { _request_id?: string | null })._request_id;
    expect(requestId).toMatch(/^req_/);
    expect(requestId).toBe(response.headers.get('x-request-id'));
    const stream = anthropic.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'Paris.' });
    expect(stream.request_id).toMatch(/^req_/);
  });

  it('openai-node keeps reading x-request-id (no request-id header off the Messages surface)', async () => {
    s.h.anthropic.setBehavior({ reply: 'Paris.', fail: { status: 400, message: 'bad field' } });
    s.h.openai.setBehavior({ reply: 'Paris.', fail: { status: 400, message: 'bad field' } });
    const openai = new OpenAI({ apiKey: 'unused', baseURL: `${base()}/v1`, maxRetries: 0 });
    const err = await openai.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.requestID).toMatch(/^req_/);
    expect(e.headers?.get('request-id')).toBeNull();
  });
});
