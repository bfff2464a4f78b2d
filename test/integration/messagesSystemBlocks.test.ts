import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Demo } from '../../src/optimizer/core/demos.js';
import type { RecordedRequest } from '../fakes/fakeUpstream.js';
import { addModuleCandidates, api, seedJobBody, type TestDb } from '../helpers/server.js';
import { startSurfaceHarness, type PolicyProvider, type SurfaceHarness, type SurfaceJob } from '../helpers/surfaces.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * A Messages `system` of several text blocks whose joined text matches no module is routed by its
 * first block alone: Anthropic's prompt-caching layout (an instruction block, then a per-request
 * document block with cache_control), @ai-sdk/anthropic and LangChain ChatAnthropic with two system
 * messages. They passed through unoptimized (`mipro.module.unmatched`) where the same app on the
 * OpenAI surfaces, which match the first system message only, was optimized. The candidate's text
 * replaces the first block only; the other blocks go as the client sent them.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const INSTRUCTION = 'You answer questions about the attached document.';
const NEW_TEXT = 'NEW: answer from the document in one sentence.';
const DOC = 'DOCUMENT-1: the capital of France is Paris.';
const DOC_BLOCK = { type: 'text', text: DOC, cache_control: { type: 'ephemeral' } };
// Its literal end keeps the joined text from matching (a placeholder at the end would take the document too).
const TEMPLATE = 'Answer as {persona}. Be brief.';
const TEMPLATED_TEXT = 'NEW: answer as {persona}, briefly.';
const DEMOS: Demo[] = [{ input: [{ role: 'user', content: 'DEMO-Q' }], output: 'DEMO-A', rolloutId: 'r-demo' }];
const DEMO_TURNS = [{ role: 'user', content: 'DEMO-Q' }, { role: 'assistant', content: 'DEMO-A' }];
const USER = [{ role: 'user', content: 'What is the capital?' }];

const body = (req: RecordedRequest) => req.body as Record<string, any>;
const turnsOf = (list: unknown) => (list as { role: string; content: unknown }[]).map((m) => ({
  role: m.role, content: typeof m.content === 'string' ? m.content : (m.content as { text: string }[]).map((p) => p.text).join(''),
}));

describe.each<TestDb>(['sqlite', 'postgres'])('several Messages system blocks: the first block alone when the joined text matches no module (%s)', (db) => {
  let h: SurfaceHarness;
  const jobs = new Map<string, SurfaceJob>();

  /** A job of the given declared modules (or none: discovery), serving `promoted` when given. */
  async function job(provider: PolicyProvider, modules: { name: string; template: string }[] | null, promoted?: { module: string; text: string; demos?: Demo[] }): Promise<SurfaceJob> {
    const req = seedJobBody({
      provider, model: provider === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o-mini', proposerProvider: 'sim', proposerModel: 'sim-proposer',
      mipro: { online_rollouts_per_candidate: 1, online_proposer_min_rollouts: 1000 },
    });
    if (modules !== null) Object.assign(req.policy_optimization, { modules });
    const created = await api(h.t.url, 'POST', JOBS, { key: h.t.key, body: req });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const jobId = created.body.job_id as string;
    if (promoted) {
      await addModuleCandidates(h.t.server.store, jobId, promoted.module, { cand_new: promoted.text }, promoted.demos ? { cand_new: promoted.demos } : {});
      const res = await api(h.t.url, 'POST', `${JOBS}/${jobId}/promote`, { key: h.t.key, body: { candidate_id: 'cand_new' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      await new Promise((r) => setTimeout(r, 40)); // the runtime cache (20 ms) sees the promotion
    }
    return { jobId, systemId: created.body.system_id, proxyUrl: created.body.proxy_url, provider };
  }

  beforeAll(async () => {
    h = await startSurfaceHarness({ db });
    for (const provider of ['anthropic', 'openai'] as const) {
      jobs.set(`instruction-${provider}`, await job(provider, [{ name: 'main', template: INSTRUCTION }], { module: 'main', text: NEW_TEXT, demos: DEMOS }));
      jobs.set(`templated-${provider}`, await job(provider, [{ name: 'persona', template: TEMPLATE }], { module: 'persona', text: TEMPLATED_TEXT }));
    }
    jobs.set('both', await job('anthropic', [{ name: 'instr', template: INSTRUCTION }, { name: 'whole', template: `${INSTRUCTION}\n\nDocument: {doc}` }]));
  });
  afterAll(async () => h?.close());
  beforeEach(() => {
    h.openai.requests.length = 0;
    h.anthropic.requests.length = 0;
  });

  async function post(name: string, payload: Record<string, unknown>, rollout: string, headers: Record<string, string> = {}) {
    const j = jobs.get(name)!;
    const res = await fetch(`${j.proxyUrl}/${rollout}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const sent = h.upstreamOf(j.provider);
    expect(sent).toHaveLength(1);
    return { res, text, sent: sent[0]! };
  }

  async function rolloutOf(name: string, rollout: string) {
    const path = `/api/systems/${jobs.get(name)!.systemId}/rollouts/${rollout}`;
    await waitFor(async () => ((await api(h.t.url, 'GET', path, { key: h.t.key })).body?.calls?.length ?? 0) >= 1);
    return (await api(h.t.url, 'GET', path, { key: h.t.key })).body as Record<string, any>;
  }

  it('native (anthropic): the candidate\'s text in block 1, the cached document block unchanged, demos first; the rollout records the module', async () => {
    const system = [{ type: 'text', text: INSTRUCTION }, DOC_BLOCK];
    for (const stream of [false, true]) {
      h.anthropic.requests.length = 0;
      const rollout = `native-${stream}`;
      const { res, sent } = await post('instruction-anthropic', { model: 'x', max_tokens: 64, stream, system, messages: USER }, rollout);
      expect(res.headers.get('x-mipro-module')).toBe('main');
      expect(res.headers.get('x-mipro-candidate-id')).toBe('cand_new');
      expect(body(sent).system).toEqual([{ type: 'text', text: NEW_TEXT }, DOC_BLOCK]);
      expect(turnsOf(body(sent).messages)).toEqual([...DEMO_TURNS, ...USER]);
      const record = await rolloutOf('instruction-anthropic', rollout);
      expect(record.calls[0]).toMatchObject({ module: 'main', system_prompt: NEW_TEXT, demo_turns: DEMO_TURNS });
      // The document is the app's own context: kept in the record, as a later system message.
      expect(record.calls[0].input_messages).toEqual([{ role: 'system', content: DOC }, ...USER]);
    }
  });

  it('native: a call naming the module (x-mipro-module) is that module\'s as a one-block call is, not a text it cannot rebuild', async () => {
    const { res, sent } = await post('instruction-anthropic', { model: 'x', max_tokens: 64, system: [{ type: 'text', text: INSTRUCTION }, DOC_BLOCK], messages: USER }, 'named', { 'x-mipro-module': 'main' });
    expect(res.headers.get('x-mipro-module')).toBe('main');
    expect(body(sent).system).toEqual([{ type: 'text', text: NEW_TEXT }, DOC_BLOCK]);
    expect((await rolloutOf('instruction-anthropic', 'named')).calls[0]).toMatchObject({ module: 'main', system_prompt: NEW_TEXT });
  });

  it('translated (openai): one system message, the candidate\'s text then the other blocks, as the translation joins them; demos after it', async () => {
    const { res, sent } = await post('instruction-openai', { model: 'x', max_tokens: 64, system: [{ type: 'text', text: INSTRUCTION }, DOC_BLOCK], messages: USER }, 'translated');
    expect(res.headers.get('x-mipro-module')).toBe('main');
    expect(sent.url).toBe('/v1/chat/completions');
    expect(turnsOf(body(sent).messages)).toEqual([{ role: 'system', content: `${NEW_TEXT}\n\n${DOC}` }, ...DEMO_TURNS, ...USER]);
    const record = await rolloutOf('instruction-openai', 'translated');
    expect(record.calls[0]).toMatchObject({ module: 'main', system_prompt: NEW_TEXT });
    expect(record.calls[0].input_messages).toEqual([{ role: 'system', content: DOC }, ...USER]);
  });

  it('a template\'s placeholder is captured from block 1 and rendered into the candidate\'s text, natively and translated', async () => {
    const system = [{ type: 'text', text: 'Answer as a pirate. Be brief.' }, DOC_BLOCK];
    const native = await post('templated-anthropic', { model: 'x', max_tokens: 64, system, messages: USER }, 'tpl-native');
    expect(native.res.headers.get('x-mipro-module')).toBe('persona');
    expect(body(native.sent).system).toEqual([{ type: 'text', text: 'NEW: answer as a pirate, briefly.' }, DOC_BLOCK]);
    expect((await rolloutOf('templated-anthropic', 'tpl-native')).calls[0]).toMatchObject({ module: 'persona', variables: { persona: 'a pirate' } });
    const translated = await post('templated-openai', { model: 'x', max_tokens: 64, system, messages: USER }, 'tpl-translated');
    expect(turnsOf(body(translated.sent).messages)[0]).toEqual({ role: 'system', content: `NEW: answer as a pirate, briefly.\n\n${DOC}` });
    expect((await rolloutOf('templated-openai', 'tpl-translated')).calls[0]).toMatchObject({ module: 'persona', variables: { persona: 'a pirate' } });
  });

  it('the joined text still wins when it matches a module; the first block is tried only when it matches none', async () => {
    const joined = await post('both', { model: 'x', max_tokens: 64, system: [{ type: 'text', text: INSTRUCTION }, { type: 'text', text: 'Document: D1' }], messages: USER }, 'joined');
    expect(joined.res.headers.get('x-mipro-module')).toBe('whole');
    expect((await rolloutOf('both', 'joined')).calls[0]).toMatchObject({ module: 'whole', variables: { doc: 'D1' } });
    h.anthropic.requests.length = 0;
    const first = await post('both', { model: 'x', max_tokens: 64, system: [{ type: 'text', text: INSTRUCTION }, { type: 'text', text: 'Notes: N1' }], messages: USER }, 'first');
    expect(first.res.headers.get('x-mipro-module')).toBe('instr');
    expect((await rolloutOf('both', 'first')).calls[0]).toMatchObject({ module: 'instr' });
  });

  it('several blocks that match nothing, joined or first alone, still go upstream byte-identical', async () => {
    const payload = { model: 'x', max_tokens: 64, system: [{ type: 'text', text: 'Something else entirely.', cache_control: { type: 'ephemeral' } }, DOC_BLOCK], messages: USER };
    const { res, sent } = await post('instruction-anthropic', payload, 'unmatched');
    expect(res.headers.get('x-mipro-unmatched')).toBe('true');
    expect(res.headers.get('x-mipro-module')).toBeNull();
    const { model: _m, ...rest } = body(sent);
    const { model: _c, ...client } = payload;
    expect(rest).toEqual({ ...client, temperature: 0 });
    expect(sent.rawBody).toContain(JSON.stringify(payload.system));
    // Reported by the text the client sent: the blocks joined, not the first alone.
    const events = `/api/v1/online/sessions/${jobs.get('instruction-anthropic')!.systemId}/events?event_type=mipro.module.unmatched`;
    await waitFor(async () => ((await api(h.t.url, 'GET', events, { key: h.t.key })).body.events ?? []).length === 1);
    const [event] = (await api(h.t.url, 'GET', events, { key: h.t.key })).body.events as { data: { length: number } }[];
    expect(event!.data.length).toBe(`Something else entirely.\n\n${DOC}`.length);
  });

  it('discovery: a multi-block call discovers its first block, so a per-request document makes no new module; a module discovered from a joined text keeps matching', async () => {
    const discovering = await job('anthropic', null);
    jobs.set('discovering', discovering);
    for (const [i, doc] of ['DOC-A', 'DOC-B', 'DOC-C'].entries()) {
      h.anthropic.requests.length = 0;
      const { res, sent } = await post('discovering', { model: 'x', max_tokens: 64, system: [{ type: 'text', text: INSTRUCTION }, { type: 'text', text: doc, cache_control: { type: 'ephemeral' } }], messages: USER }, `disc-${i}`);
      expect(res.headers.get('x-mipro-module')).toBe('m1');
      expect(body(sent).system).toEqual([{ type: 'text', text: INSTRUCTION }, { type: 'text', text: doc, cache_control: { type: 'ephemeral' } }]);
    }
    // A one-part system text with a blank line in it is discovered as itself; its blocks then match it joined.
    h.anthropic.requests.length = 0;
    const whole = 'Part one of a long instruction.\n\nPart two of it.';
    expect((await post('discovering', { model: 'x', max_tokens: 64, system: whole, messages: USER }, 'disc-whole')).res.headers.get('x-mipro-module')).toBe('m2');
    h.anthropic.requests.length = 0;
    const split = await post('discovering', { model: 'x', max_tokens: 64, system: [{ type: 'text', text: 'Part one of a long instruction.' }, { type: 'text', text: 'Part two of it.' }], messages: USER }, 'disc-split');
    expect(split.res.headers.get('x-mipro-module')).toBe('m2');
    const view = await api(h.t.url, 'GET', `${JOBS}/${discovering.jobId}`, { key: h.t.key });
    expect(view.body.modules.map((m: { name: string; template: string }) => [m.name, m.template])).toEqual([['m1', INSTRUCTION], ['m2', whole]]);
  });
});
