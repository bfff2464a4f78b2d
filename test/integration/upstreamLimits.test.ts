import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_STORED_CALL_INPUT, MAX_STORED_CALL_TEXT } from '../../src/proxy/recordLimits.js';
import { MAX_RECORDED_CALLS_PER_ROLLOUT } from '../../src/store/hotPath.js';
import type { RolloutRecord } from '../../src/store/types.js';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

/**
 * Issue 14, item 3: an upstream answer over UPSTREAM_MAX_RESPONSE_BYTES is not relayed whole (a 502,
 * or an error event mid-stream), and a rollout record keeps at most MAX_STORED_CALL_TEXT characters
 * of a call's text, cut visibly.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const LIMIT = 256 * 1024;
const CALL = { messages: [{ role: 'user', content: 'hi' }] };

describe('upstream answers and stored text are capped', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  let job: { job_id: string; proxy_url: string };
  useFakeUpstreamServer({ upstream: { reply: 'ok' }, env: { UPSTREAM_MAX_RESPONSE_BYTES: String(LIMIT) } }, (s) => ({ fake, t } = s));
  beforeAll(async () => {
    job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body;
  });
  beforeEach(() => fake.setBehavior({ reply: 'ok', chunks: 3 }));

  /** The call record is written just after the answer: wait for it. */
  async function settled(rolloutId: string): Promise<RolloutRecord> {
    for (let i = 0; i < 100; i++) {
      const r = await t.server.store.getRollout(job.job_id, rolloutId);
      if (r && r.status !== 'dispatched') return r;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`rollout ${rolloutId} never finished`);
  }

  it('answers a 502 in OpenAI shape when a JSON answer is over the limit, and records a failed call', async () => {
    fake.setBehavior({ reply: 'x'.repeat(LIMIT + 1) });
    const res = await api(job.proxy_url, 'POST', '/big-json/chat/completions', { body: CALL });
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ type: 'api_error', code: 'upstream_response_too_large' });
    expect(res.body.error.message).toMatch(new RegExp(`more than ${LIMIT} bytes`));
    const r = await settled('big-json');
    expect(r.status).toBe('failed');
    expect(r.outputText).toBeNull();
  });

  it('ends an over-limit stream with an error event and no [DONE], and records a failed call', async () => {
    fake.setBehavior({ reply: 'y'.repeat(LIMIT * 2), chunks: 64 });
    const res = await fetch(`${job.proxy_url}/big-stream/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...CALL, stream: true }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeLessThan(LIMIT + 64 * 1024);
    expect(text).not.toContain('[DONE]');
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    expect(JSON.parse(events.at(-1)!.slice(6)).error.code).toBe('upstream_response_too_large');
    const r = await settled('big-stream');
    expect(r.status).toBe('failed');
    expect((r.outputText ?? '').length).toBeLessThanOrEqual(MAX_STORED_CALL_TEXT + 100);
  });

  it('relays an answer under the limit whole but stores only a marked prefix of it', async () => {
    const reply = 'z'.repeat(MAX_STORED_CALL_TEXT * 2);
    fake.setBehavior({ reply });
    const res = await api(job.proxy_url, 'POST', '/long-answer/chat/completions', { body: CALL });
    expect(res.status).toBe(200);
    expect(res.body.choices[0].message.content).toBe(reply); // the client gets all of it
    const r = await settled('long-answer');
    expect(r.status).toBe('completed');
    expect(r.outputText).toBe(`${'z'.repeat(MAX_STORED_CALL_TEXT)}\n[miprox: truncated; ${reply.length} characters in all]`);
  });

  it('stores long input messages cut the same way, and never splits a surrogate pair', async () => {
    const long = `${'a'.repeat(MAX_STORED_CALL_TEXT - 1)}😀${'b'.repeat(10)}`;
    const res = await api(job.proxy_url, 'POST', '/long-input/chat/completions', { body: { messages: [{ role: 'user', content: long }] } });
    expect(res.status).toBe(200);
    const r = await settled('long-input');
    const stored = (r.inputMessages as Array<{ content: string }>)[0]!.content;
    expect(stored).toBe(`${'a'.repeat(MAX_STORED_CALL_TEXT - 1)}\n[miprox: truncated; ${long.length} characters in all]`);
    expect(fake.requests.at(-1)!.rawBody).toContain('😀'); // the upstream still got the whole input
  });

  it('flags a call record that holds only a prefix (truncated), and caps captured template variables', async () => {
    const templated = (await api(t.url, 'POST', JOBS, {
      key: t.key, body: { ...seedJobBody(), policy_optimization: { ...seedJobBody().policy_optimization, modules: [{ name: 'answer', template: 'Answer from:\n{context}' }] } },
    })).body as { job_id: string; system_id: string; proxy_url: string };
    const context = 'c'.repeat(MAX_STORED_CALL_TEXT + 5);
    fake.setBehavior({ reply: 'short' });
    const res = await api(templated.proxy_url, 'POST', '/cut/chat/completions', { body: { messages: [{ role: 'system', content: `Answer from:\n${context}` }, { role: 'user', content: 'q' }] } });
    expect(res.status).toBe(200);
    let view: { calls: { truncated: boolean; variables: Record<string, string> }[] } = { calls: [] };
    for (let i = 0; i < 100 && view.calls.length === 0; i++) {
      view = (await api(t.url, 'GET', `/api/systems/${templated.system_id}/rollouts/cut`, { key: t.key })).body;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(view.calls[0]?.truncated).toBe(true);
    expect(view.calls[0]?.variables.context).toBe(`${'c'.repeat(MAX_STORED_CALL_TEXT)}\n[miprox: truncated; ${context.length} characters in all]`);
    await api(job.proxy_url, 'POST', '/whole/chat/completions', { body: CALL });
    await settled('whole');
    const whole = (await api(t.url, 'GET', `/api/systems/${(await t.server.store.getJob(job.job_id))!.systemId}/rollouts/whole`, { key: t.key })).body;
    expect(whole.calls[0].truncated).toBe(false);
  });

  it('bounds what one rollout can store: a call\'s input in all, and the calls recorded per rollout', async () => {
    // 40 messages of 60,000 characters: each under the per-text cap, 2.4 M characters together.
    const many = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `${i}`.padEnd(60_000, 'm') }));
    expect((await api(job.proxy_url, 'POST', '/wide/chat/completions', { body: { messages: many } })).status).toBe(200);
    const wide = await settled('wide');
    const stored = wide.inputMessages as Array<{ role: string; content: string }>;
    expect(stored.map((m) => m.role)).toEqual(many.map((m) => m.role)); // the conversation's shape is kept
    expect(stored.reduce((n, m) => n + m.content.length, 0)).toBeLessThanOrEqual(MAX_STORED_CALL_INPUT + 40 * 60);
    expect(stored[0]!.content).toMatch(/\[miprox: truncated; 60000 characters in all\]$/);
    // Past MAX_RECORDED_CALLS_PER_ROLLOUT calls the rollout still answers and counts them, storing no more.
    const extra = 5;
    for (let i = 0; i < MAX_RECORDED_CALLS_PER_ROLLOUT + extra; i++) {
      expect((await api(job.proxy_url, 'POST', '/busy/chat/completions', { body: CALL })).status).toBe(200);
    }
    await t.server.settled(); // every call's record is written after its answer
    const busy = await settled('busy');
    expect(busy.callCount).toBe(MAX_RECORDED_CALLS_PER_ROLLOUT + extra);
    expect(await t.server.store.rolloutCalls(job.job_id, ['busy'])).toHaveLength(MAX_RECORDED_CALLS_PER_ROLLOUT);
  });

  it('holds a call\'s stored input to its cap whatever field the bulk is in: tool call arguments, images, tool result parts', async () => {
    const args = JSON.stringify({ code: 'a'.repeat(300_000) });
    const image = `data:image/png;base64,${'A'.repeat(1_000_000)}`;
    const messages = [
      { role: 'user', content: [{ type: 'text', text: 'what is on the picture?' }, { type: 'image_url', image_url: { url: image } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'write_file', arguments: args } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'written' },
    ];
    expect((await api(job.proxy_url, 'POST', '/bulky-fields/chat/completions', { body: { messages } })).status).toBe(200);
    const stored = (await settled('bulky-fields')).inputMessages as Array<Record<string, any>>;
    expect(JSON.stringify(stored).length).toBeLessThanOrEqual(MAX_STORED_CALL_INPUT + 1000);
    // The shape stays (roles, part types, the call's id and name); each cut value says it was cut.
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(stored[0]!.content[0].text).toBe('what is on the picture?');
    expect(stored[0]!.content[1].image_url.url).toMatch(/^data:image\/png;base64,A+\n\[miprox: truncated; 1000022 characters in all\]$/);
    expect(stored[1]!.tool_calls[0]).toMatchObject({ id: 'call_1', type: 'function', function: { name: 'write_file' } });
    expect(stored[1]!.tool_calls[0].function.arguments).toMatch(/\[miprox: truncated; 300011 characters in all\]$/);
    expect(stored[2]).toEqual(messages[2]);
    expect(fake.requests.at(-1)!.rawBody).toContain(image); // the upstream got all of it
    const systemId = (await t.server.store.getJob(job.job_id))!.systemId;
    const view = (await api(t.url, 'GET', `/api/systems/${systemId}/rollouts/bulky-fields`, { key: t.key })).body;
    expect(view.calls[0].truncated).toBe(true);
  });
});
