import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SseParser } from '../../src/providers/sseParser.js';
import type { Demo } from '../../src/optimizer/core/demos.js';
import type { RecordedRequest } from '../fakes/fakeUpstream.js';
import { addModuleCandidates, api, seedJobBody, type TestDb } from '../helpers/server.js';
import { CLIENT_SYSTEM, startSurfaceHarness, type PolicyProvider, type SurfaceHarness, type SurfaceJob } from '../helpers/surfaces.js';

/**
 * Issue 17, "injection order on each surface": a served candidate's demos reach the upstream right
 * after the system text and before the client's conversation, on Responses (native OpenAI: `input`
 * items, with the system text in `instructions` or the client's own system item; translated: chat
 * turns) and Messages (native Anthropic: turns, system in `system`; translated: chat turns), and the
 * export's `messages` rendering is exactly the preamble the proxy sent.
 */
const DEMO_TEXT = 'DEMO CANDIDATE: answer like the examples.';
const DEMOS: Demo[] = [
  { input: [{ role: 'user', content: 'DEMO-Q1' }], output: 'DEMO-A1', rolloutId: 'r-demo-1' },
  { input: [{ role: 'user', content: 'DEMO-Q2a' }, { role: 'assistant', content: 'DEMO-MID' }, { role: 'user', content: 'DEMO-Q2b' }], output: 'DEMO-A2', rolloutId: 'r-demo-2' },
];
// Written out, not rendered by demoTurns: a plain module's demos go upstream exactly as before demos
// could carry variables.
const DEMO_TURNS: Turn[] = [
  { role: 'user', content: 'DEMO-Q1' }, { role: 'assistant', content: 'DEMO-A1' },
  { role: 'user', content: 'DEMO-Q2a' }, { role: 'assistant', content: 'DEMO-MID' }, { role: 'user', content: 'DEMO-Q2b' }, { role: 'assistant', content: 'DEMO-A2' },
];
/** A module whose template has a placeholder, and a served candidate whose demos carry their own values. */
const TEMPLATE = 'Answer from this context:\n{context}';
const TEMPLATED_TEXT = 'DEMO CANDIDATE, grounded in:\n{context}';
const TEMPLATED_DEMOS: Demo[] = [
  { input: [{ role: 'user', content: 'T-Q1' }], output: 'T-A1', rolloutId: 'r-t-1', variables: { context: 'T-CTX-1' } },
  { input: [{ role: 'user', content: 'T-Q2a' }, { role: 'assistant', content: 'T-MID' }, { role: 'user', content: 'T-Q2b' }], output: 'T-A2', rolloutId: 'r-t-2', variables: { context: 'T-CTX-2' } },
];
/** Each demo's own context at the head of its first user turn; its later turns as they were. */
const TEMPLATED_TURNS: Turn[] = [
  { role: 'user', content: 'context:\nT-CTX-1\n\nT-Q1' }, { role: 'assistant', content: 'T-A1' },
  { role: 'user', content: 'context:\nT-CTX-2\n\nT-Q2a' }, { role: 'assistant', content: 'T-MID' }, { role: 'user', content: 'T-Q2b' }, { role: 'assistant', content: 'T-A2' },
];
const LIVE_SYSTEM = 'Answer from this context:\nLIVE-CTX';
const LIVE_RENDERED = 'DEMO CANDIDATE, grounded in:\nLIVE-CTX';
const CLIENT: Turn[] = [{ role: 'user', content: 'CLIENT-1' }, { role: 'assistant', content: 'CLIENT-2' }, { role: 'user', content: 'CLIENT-3' }];
const EXTRA = 'EXTRA-RULES: never guess.';

interface Turn { role: string; content: string }

/** A message's text whatever its shape: a string, or text parts (chat, Responses, Anthropic blocks). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  return (content as { text?: string }[]).map((p) => p.text ?? '').join('');
}
const turns = (list: unknown): Turn[] => (list as { role: string; content: unknown }[]).map((m) => ({ role: m.role, content: textOf(m.content) }));
const body = (req: RecordedRequest) => req.body as Record<string, any>;
const path = (req: RecordedRequest) => req.url.split('?')[0];

async function post(url: string, payload: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe.each<TestDb>(['sqlite', 'postgres'])('demo injection order on every surface (%s)', (db) => {
  let h: SurfaceHarness;
  const jobs = new Map<string, SurfaceJob>();

  /** A job serving (promoted) a candidate with DEMOS for module main and the given text. */
  async function demoJob(provider: PolicyProvider, text: string): Promise<SurfaceJob> {
    const job = await h.newJob(provider);
    await addModuleCandidates(h.t.server.store, job.jobId, 'main', { cand_demo: text }, { cand_demo: DEMOS });
    const res = await api(h.t.url, 'POST', `/api/policy-optimization/online/jobs/${job.jobId}/promote`, { key: h.t.key, body: { candidate_id: 'cand_demo' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await new Promise((r) => setTimeout(r, 40)); // the runtime cache (20 ms) sees the promotion
    return job;
  }

  /** A job of one templated module `main`, serving (promoted) a candidate with TEMPLATED_DEMOS. */
  async function templatedJob(provider: PolicyProvider): Promise<SurfaceJob> {
    const body = seedJobBody({
      provider, model: provider === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o-mini', proposerProvider: 'sim', proposerModel: 'sim-proposer',
      ...(provider === 'openai_compatible' ? { inferenceUrl: h.openai.url } : {}),
      mipro: { online_rollouts_per_candidate: 1, online_proposer_min_rollouts: 1000 },
    });
    Object.assign(body.policy_optimization, { modules: [{ name: 'main', template: TEMPLATE }] });
    const created = await api(h.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: h.t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    await addModuleCandidates(h.t.server.store, created.body.job_id, 'main', { cand_demo: TEMPLATED_TEXT }, { cand_demo: TEMPLATED_DEMOS });
    const res = await api(h.t.url, 'POST', `/api/policy-optimization/online/jobs/${created.body.job_id}/promote`, { key: h.t.key, body: { candidate_id: 'cand_demo' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await new Promise((r) => setTimeout(r, 40));
    return { jobId: created.body.job_id, systemId: created.body.system_id, proxyUrl: created.body.proxy_url, provider };
  }

  beforeAll(async () => {
    h = await startSurfaceHarness({ db });
    jobs.set('templated-openai', await templatedJob('openai'));
    jobs.set('templated-compatible', await templatedJob('openai_compatible'));
    jobs.set('templated-anthropic', await templatedJob('anthropic'));
    jobs.set('openai', await demoJob('openai', DEMO_TEXT));
    jobs.set('openai_compatible', await demoJob('openai_compatible', DEMO_TEXT));
    jobs.set('anthropic', await demoJob('anthropic', DEMO_TEXT));
    // Demos only: the instruction stays the app's own, so the client's system blocks must too.
    jobs.set('anthropic-demos-only', await demoJob('anthropic', CLIENT_SYSTEM));
  });
  afterAll(async () => h?.close());
  beforeEach(() => {
    h.openai.requests.length = 0;
    h.anthropic.requests.length = 0;
  });

  /** One call on a job's proxy; checks the demo candidate served it and returns the single upstream request. */
  async function call(job: string, surface: string, payload: unknown, headers: Record<string, string> = {}) {
    const j = jobs.get(job)!;
    const res = await post(`${j.proxyUrl}/${surface}`, payload, headers);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('x-mipro-candidate-id')).toBe('cand_demo');
    const sent = h.upstreamOf(j.provider);
    expect(sent).toHaveLength(1);
    return { res, sent: sent[0]! };
  }

  /** The export's `messages` rendering of the served candidate: system text, then the demo turns. */
  async function exported(job: string): Promise<Turn[]> {
    const res = await api(h.t.url, 'GET', `/api/policy-optimization/online/jobs/${jobs.get(job)!.jobId}/export?format=messages`, { key: h.t.key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.candidate_id).toBe('cand_demo');
    return res.body.modules.main as Turn[];
  }

  describe('Responses', () => {
    it('native (openai): demos are the first input items, the candidate in instructions, the client\'s instructions echoed; export renders the same', async () => {
      const { res, sent } = await call('openai', 'v1/responses', { model: 'x', instructions: CLIENT_SYSTEM, input: CLIENT, store: false });
      expect(path(sent)).toBe('/v1/responses');
      expect(body(sent).instructions).toBe(DEMO_TEXT);
      expect(turns(body(sent).input)).toEqual([...DEMO_TURNS, ...CLIENT]);
      const answer = JSON.parse(res.text);
      expect(answer.instructions).toBe(CLIENT_SYSTEM);
      expect(res.text).not.toContain(DEMO_TEXT);
      const preamble = [{ role: 'system', content: body(sent).instructions }, ...turns(body(sent).input).slice(0, DEMO_TURNS.length)];
      expect(await exported('openai')).toEqual(preamble);
      expect(preamble).toEqual([{ role: 'system', content: DEMO_TEXT }, ...DEMO_TURNS]);
    });

    it('native (openai), streaming: demos go after every leading developer item (the client\'s system text), before its conversation', async () => {
      // No instructions, the system text as the first developer item (the Vercel AI SDK's way), a second one after it.
      const input = [{ role: 'developer', content: CLIENT_SYSTEM }, { role: 'developer', content: EXTRA }, ...CLIENT];
      const { res, sent } = await call('openai', 'responses', { input, stream: true });
      expect(body(sent).instructions).toBeUndefined();
      expect(turns(body(sent).input)).toEqual([{ role: 'developer', content: DEMO_TEXT }, { role: 'developer', content: EXTRA }, ...DEMO_TURNS, ...CLIENT]);
      const events = new SseParser().push(res.text).map((e) => JSON.parse(e.data));
      expect(events.at(-1).type).toBe('response.completed');
      expect(res.text).not.toContain(DEMO_TEXT);
    });

    it('native (openai) with instructions and a developer item: demos after both, as the chat path places them', async () => {
      const payload = { instructions: CLIENT_SYSTEM, input: [{ role: 'developer', content: [{ type: 'input_text', text: EXTRA }] }, ...CLIENT] };
      const { sent } = await call('openai', 'responses', payload);
      expect(body(sent).instructions).toBe(DEMO_TEXT);
      expect(turns(body(sent).input)).toEqual([{ role: 'developer', content: EXTRA }, ...DEMO_TURNS, ...CLIENT]);
      h.openai.requests.length = 0; // the same fake upstream serves both providers
      const translated = await call('openai_compatible', 'responses', payload);
      expect(turns(body(translated.sent).messages)).toEqual([{ role: 'system', content: DEMO_TEXT }, { role: 'developer', content: EXTRA }, ...DEMO_TURNS, ...CLIENT]);
    });

    it('native (openai) with no system text at all: the candidate goes in instructions, demos open the input, the echo stays null', async () => {
      const { res, sent } = await call('openai', 'responses', { input: 'CLIENT-1' }, { 'x-mipro-module': 'main' });
      expect(body(sent).instructions).toBe(DEMO_TEXT);
      expect(turns(body(sent).input)).toEqual([...DEMO_TURNS, { role: 'user', content: 'CLIENT-1' }]);
      expect(JSON.parse(res.text).instructions).toBeNull();
    });

    it('translated (openai_compatible): demos are chat turns right after the system message; export renders the same', async () => {
      const { sent } = await call('openai_compatible', 'responses', { instructions: CLIENT_SYSTEM, input: CLIENT, stream: true });
      expect(path(sent)).toBe('/v1/chat/completions');
      const messages = turns(body(sent).messages);
      expect(messages).toEqual([{ role: 'system', content: DEMO_TEXT }, ...DEMO_TURNS, ...CLIENT]);
      expect(await exported('openai_compatible')).toEqual(messages.slice(0, 1 + DEMO_TURNS.length));
    });

    it('translated to Messages (anthropic): system in system, demos the first turns', async () => {
      const { sent } = await call('anthropic', 'responses', { instructions: CLIENT_SYSTEM, input: CLIENT });
      expect(path(sent)).toBe('/v1/messages');
      expect(textOf(body(sent).system)).toBe(DEMO_TEXT);
      expect(turns(body(sent).messages)).toEqual([...DEMO_TURNS, ...CLIENT]);
    });
  });

  describe('Messages', () => {
    it('native (anthropic): the candidate in system, demos the first turns; export renders the same', async () => {
      const { sent } = await call('anthropic', 'v1/messages', { model: 'x', max_tokens: 64, system: CLIENT_SYSTEM, messages: CLIENT });
      expect(path(sent)).toBe('/v1/messages');
      expect(body(sent).system).toBe(DEMO_TEXT);
      expect(turns(body(sent).messages)).toEqual([...DEMO_TURNS, ...CLIENT]);
      const preamble = [{ role: 'system', content: body(sent).system }, ...turns(body(sent).messages).slice(0, DEMO_TURNS.length)];
      expect(await exported('anthropic')).toEqual(preamble);
    });

    it('native (anthropic), streaming with system blocks, demos-only candidate: the client\'s blocks (cache_control too) stay, demos lead the turns', async () => {
      const system = [{ type: 'text', text: CLIENT_SYSTEM, cache_control: { type: 'ephemeral' } }];
      const messages = CLIENT.map((m) => ({ role: m.role, content: [{ type: 'text', text: m.content }] }));
      const { res, sent } = await call('anthropic-demos-only', 'messages', { max_tokens: 64, stream: true, system, messages });
      expect(body(sent).system).toEqual(system);
      expect(turns(body(sent).messages)).toEqual([...DEMO_TURNS, ...CLIENT]);
      expect(res.text).toContain('message_stop');
      expect(await exported('anthropic-demos-only')).toEqual([{ role: 'system', content: CLIENT_SYSTEM }, ...DEMO_TURNS]);
    });

    it('native (anthropic) with system blocks and a new instruction: the candidate replaces them, demos lead the turns', async () => {
      const { sent } = await call('anthropic', 'messages', { max_tokens: 64, system: [{ type: 'text', text: CLIENT_SYSTEM }], messages: CLIENT });
      expect(body(sent).system).toBe(DEMO_TEXT);
      expect(turns(body(sent).messages)).toEqual([...DEMO_TURNS, ...CLIENT]);
    });

    it('translated (openai, openai_compatible): demos are chat turns right after the system message', async () => {
      for (const job of ['openai', 'openai_compatible']) {
        h.openai.requests.length = 0;
        const { sent } = await call(job, 'messages', { max_tokens: 64, system: CLIENT_SYSTEM, messages: CLIENT, stream: job === 'openai' });
        expect(path(sent)).toBe('/v1/chat/completions');
        expect(turns(body(sent).messages)).toEqual([{ role: 'system', content: DEMO_TEXT }, ...DEMO_TURNS, ...CLIENT]);
      }
    });
  });

  describe('a templated module: each demo shows its own values in its first user turn, under the call\'s own', () => {
    it('chat completions', async () => {
      const { sent } = await call('templated-compatible', 'chat/completions', { model: 'x', messages: [{ role: 'system', content: LIVE_SYSTEM }, ...CLIENT] });
      expect(turns(body(sent).messages)).toEqual([{ role: 'system', content: LIVE_RENDERED }, ...TEMPLATED_TURNS, ...CLIENT]);
    });

    it('Responses, native (openai) and translated (openai_compatible, anthropic)', async () => {
      const payload = { model: 'x', instructions: LIVE_SYSTEM, input: CLIENT };
      const native = await call('templated-openai', 'responses', payload);
      expect(path(native.sent)).toBe('/v1/responses');
      expect(body(native.sent).instructions).toBe(LIVE_RENDERED);
      expect(turns(body(native.sent).input)).toEqual([...TEMPLATED_TURNS, ...CLIENT]);
      expect(JSON.parse(native.res.text).instructions).toBe(LIVE_SYSTEM);
      h.openai.requests.length = 0;
      const compatible = await call('templated-compatible', 'responses', { ...payload, stream: true });
      expect(turns(body(compatible.sent).messages)).toEqual([{ role: 'system', content: LIVE_RENDERED }, ...TEMPLATED_TURNS, ...CLIENT]);
      const anthropic = await call('templated-anthropic', 'responses', payload);
      expect(path(anthropic.sent)).toBe('/v1/messages');
      expect(textOf(body(anthropic.sent).system)).toBe(LIVE_RENDERED);
      expect(turns(body(anthropic.sent).messages)).toEqual([...TEMPLATED_TURNS, ...CLIENT]);
    });

    it('Messages, native (anthropic, streaming) and translated (openai)', async () => {
      const native = await call('templated-anthropic', 'v1/messages', { model: 'x', max_tokens: 64, stream: true, system: LIVE_SYSTEM, messages: CLIENT });
      expect(path(native.sent)).toBe('/v1/messages');
      expect(body(native.sent).system).toBe(LIVE_RENDERED);
      expect(turns(body(native.sent).messages)).toEqual([...TEMPLATED_TURNS, ...CLIENT]);
      const translated = await call('templated-openai', 'messages', { max_tokens: 64, system: LIVE_SYSTEM, messages: CLIENT });
      expect(path(translated.sent)).toBe('/v1/chat/completions');
      expect(turns(body(translated.sent).messages)).toEqual([{ role: 'system', content: LIVE_RENDERED }, ...TEMPLATED_TURNS, ...CLIENT]);
    });

    it('a demo whose turns are the call\'s is left out only under the call\'s own values (a fixed user turn keeps its demos)', async () => {
      // The demo T-Q1 asked under another context is another task: it is shown.
      const other = await call('templated-compatible', 'chat/completions', { model: 'x', messages: [{ role: 'system', content: LIVE_SYSTEM }, { role: 'user', content: 'T-Q1' }] });
      expect(turns(body(other.sent).messages)).toEqual([{ role: 'system', content: LIVE_RENDERED }, ...TEMPLATED_TURNS, { role: 'user', content: 'T-Q1' }]);
      h.openai.requests.length = 0;
      // Under its own context it is the call's own input: left out, the other demo stays.
      const own = await call('templated-compatible', 'chat/completions', { model: 'x', messages: [{ role: 'system', content: 'Answer from this context:\nT-CTX-1' }, { role: 'user', content: 'T-Q1' }] });
      expect(turns(body(own.sent).messages)).toEqual([
        { role: 'system', content: 'DEMO CANDIDATE, grounded in:\nT-CTX-1' }, ...TEMPLATED_TURNS.slice(2), { role: 'user', content: 'T-Q1' },
      ]);
    });

    it('the export\'s messages rendering is the same preamble, its template unfilled', async () => {
      expect(await exported('templated-anthropic')).toEqual([{ role: 'system', content: TEMPLATED_TEXT }, ...TEMPLATED_TURNS]);
    });
  });

  it('chat completions: demos after every leading system message, before the client\'s conversation', async () => {
    const { sent } = await call('openai_compatible', 'chat/completions', { model: 'x', messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'system', content: EXTRA }, ...CLIENT] });
    expect(turns(body(sent).messages)).toEqual([{ role: 'system', content: DEMO_TEXT }, { role: 'system', content: EXTRA }, ...DEMO_TURNS, ...CLIENT]);
  });
});
