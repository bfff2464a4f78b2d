import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/providers/sseParser.js';
import { api } from '../helpers/server.js';
import { useSurfaceHarness, type PolicyProvider } from '../helpers/surfaces.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * An upstream whose `usage` breaks the schema (OpenAI-compatible servers send null, partial, mistyped
 * counts) still gave a valid answer: every surface answers it, unreadable counts record no tokens and
 * readable ones count. Before, a chat completion with `prompt_tokens: "x"` was a 502 (and a Messages
 * call translated for it), and an Anthropic message with such a count was refused the same way.
 */
const s = useSurfaceHarness(['openai_compatible', 'anthropic']);
let n = 0;

interface Totals { prompt_tokens: number; completion_tokens: number; total_tokens: number; calls: number }

async function policyUsage(provider: PolicyProvider): Promise<Totals> {
  return (await api(s.h.t.url, 'GET', `/api/policy-optimization/online/jobs/${s.jobs.get(provider)!.jobId}`, { key: s.h.t.key })).body.usage.policy as Totals;
}

type Surface = 'chat' | 'responses' | 'messages';

function request(surface: Surface, stream: boolean): { path: string; body: Record<string, unknown> } {
  const user = 'Capital of France?';
  if (surface === 'chat') return { path: 'chat/completions', body: { model: 'x', messages: [{ role: 'user', content: user }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}) } };
  if (surface === 'responses') return { path: 'responses', body: { model: 'x', input: user, stream, store: false } };
  return { path: 'messages', body: { model: 'x', max_tokens: 100, messages: [{ role: 'user', content: user }], stream } };
}

/** The answer's text, whatever the surface and whether streamed; and the usage the client was sent. */
function answerOf(surface: Surface, stream: boolean, text: string): { reply: string; usage: unknown } {
  if (!stream) {
    const body = JSON.parse(text);
    if (surface === 'chat') return { reply: body.choices[0].message.content, usage: body.usage };
    if (surface === 'responses') return { reply: body.output[0].content[0].text, usage: body.usage };
    return { reply: body.content[0].text, usage: body.usage };
  }
  const events = new SseParser().push(text).filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
  if (surface === 'chat') {
    return { reply: events.map((e) => e.choices?.[0]?.delta?.content ?? '').join(''), usage: events.at(-1).usage };
  }
  if (surface === 'responses') {
    const done = events.find((e) => e.type === 'response.completed');
    return { reply: done.response.output[0].content[0].text, usage: done.response.usage };
  }
  const reply = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join('');
  return { reply, usage: events.find((e) => e.type === 'message_delta').usage };
}

async function call(provider: PolicyProvider, surface: Surface, stream: boolean): Promise<{ status: number; reply: string; usage: unknown; added: Totals }> {
  const before = await policyUsage(provider);
  const { path, body } = request(surface, stream);
  const res = await fetch(`${s.jobs.get(provider)!.proxyUrl}/u${n++}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  await waitFor(async () => (await policyUsage(provider)).calls === before.calls + 1);
  const after = await policyUsage(provider);
  const added = {
    prompt_tokens: after.prompt_tokens - before.prompt_tokens, completion_tokens: after.completion_tokens - before.completion_tokens,
    total_tokens: after.total_tokens - before.total_tokens, calls: 1,
  };
  return { status: res.status, ...answerOf(surface, stream, text), added };
}

const SURFACES: Surface[] = ['chat', 'responses', 'messages'];
const CASES = SURFACES.flatMap((surface) => [false, true].map((stream) => ({ surface, stream })));

describe('an openai_compatible upstream whose usage is unreadable', () => {
  it.each(CASES)('$surface (stream $stream): a mistyped count is absent, the others count', async ({ surface, stream }) => {
    s.h.openai.setBehavior({ reply: 'Paris.', wireUsage: { prompt_tokens: 'x', completion_tokens: 7, total_tokens: null, completion_tokens_details: 'odd', vendor: 1 } });
    const r = await call('openai_compatible', surface, stream);
    expect(r.reply).toBe('Paris.');
    expect(r.added).toEqual({ prompt_tokens: 0, completion_tokens: 7, total_tokens: 7, calls: 1 });
    // Chat is relayed as written; the translated surfaces carry the counts they could read, 0 for the others.
    if (surface === 'chat') expect(r.usage).toEqual({ prompt_tokens: 'x', completion_tokens: 7, total_tokens: null, completion_tokens_details: 'odd', vendor: 1 });
    if (surface === 'responses') expect(r.usage).toMatchObject({ input_tokens: 0, output_tokens: 7, total_tokens: 7, output_tokens_details: { reasoning_tokens: 0 } });
    if (surface === 'messages') expect(r.usage).toMatchObject({ input_tokens: 0, output_tokens: 7 });
  });

  it.each(CASES)('$surface (stream $stream): a usage that is not an object is no usage', async ({ surface, stream }) => {
    s.h.openai.setBehavior({ reply: 'Paris.', wireUsage: 'x' });
    const r = await call('openai_compatible', surface, stream);
    expect(r.reply).toBe('Paris.');
    expect(r.added).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, calls: 1 });
    if (surface === 'responses') expect(r.usage).toBeNull();
    if (surface === 'messages') expect(r.usage).toMatchObject({ input_tokens: 0, output_tokens: 0 });
  });
});

describe('an anthropic upstream whose usage is unreadable', () => {
  it.each(CASES)('$surface (stream $stream): a mistyped count is absent, the others count', async ({ surface, stream }) => {
    s.h.anthropic.setBehavior({ reply: 'Paris.', wireUsage: { input_tokens: 'x', output_tokens: 7, cache_read_input_tokens: 'y' } });
    const r = await call('anthropic', surface, stream);
    expect(r.reply).toBe('Paris.');
    expect(r.added).toEqual({ prompt_tokens: 0, completion_tokens: 7, total_tokens: 7, calls: 1 });
    if (surface === 'chat' && !stream) expect(r.usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 7, total_tokens: 7 });
  });

  it.each(CASES)('$surface (stream $stream): a usage that is not an object is no usage', async ({ surface, stream }) => {
    s.h.anthropic.setBehavior({ reply: 'Paris.', wireUsage: 'x' });
    const r = await call('anthropic', surface, stream);
    expect(r.reply).toBe('Paris.');
    expect(r.added).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, calls: 1 });
  });
});
