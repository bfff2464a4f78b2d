import { describe, expect, it } from 'vitest';
import { type FakeUpstream, lastUserMessageOf } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';
import type { Split, Store } from '../../src/store/types.js';
import { createSeededRng } from '../../src/shared/rng.js';
import { exportedProgram, ProgramExportSchema } from '../../src/sdk/wire.js';

const JOBS = '/api/policy-optimization/online/jobs';
const PROMPT = 'Label the ticket as billing, bug or other.';

/**
 * Demonstrations and textual feedback over HTTP (SPEC.md): demo pools come only from rewarded
 * training rollouts at or above the threshold, demo sets are injected right after the system text,
 * views and export show them, and feedback reaches the proposer except for val rollouts.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('demos and feedback (%s)', (db) => {
  let policy: FakeUpstream;
  let proposer: FakeUpstream;
  let t: TestServer;
  useProposerServer({
    db,
    policy: {
      reply: (req) => (/^TOOLCALL-/.test(lastUserMessageOf(req) ?? '') ? '' : `A(${lastUserMessageOf(req)})`),
      // An input starting TOOLCALL- is answered with a tool call and no text.
      toolCallsFor: (req) => (/^TOOLCALL-/.test(lastUserMessageOf(req) ?? '') ? [{ id: 'call_1', name: 'lookup', arguments: '{"q":1}' }] : undefined),
    },
    proposer: {
      reply: (req) => {
        const prompt = JSON.stringify(req.body);
        if (/describe these inputs/.test(prompt)) return 'Tickets.';
        const v = `${Date.now()}-${Math.random()}`;
        return JSON.stringify({ instructions: [prompt.includes('module \\"answer\\" (the one to improve') ? `Answer v${v} using only:\n{context}` : `Label it carefully v${v}.`] });
      },
    },
    // Seeded: which kind each instruction_and_demos proposal is stays the same from run to run.
    start: { cacheTtlMs: 20, rng: createSeededRng(17) },
  }, (s) => ({ policy, proposer, t } = s));

  /** The job body with the fake proposer; `modules` replaces the one-prompt program of PROMPT. */
  const jobBody = (mipro: Record<string, unknown>, modules?: ReadonlyArray<{ name: string; template: string }>) => {
    const body = seedJobBody({ proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url, ...(modules ? {} : { initialPrompt: PROMPT }), mipro });
    if (modules) Object.assign(body.policy_optimization, { modules });
    return body;
  };
  /** mipro.proposer for a demos_only job on the fake proposer. */
  const demosOnly = () => ({ mode: 'demos_only', model: 'fake-proposer', provider: 'openai_compatible', inference_url: proposer.url, instructions_per_batch: 1 });
  const createJob = async (mipro: Record<string, unknown>) => {
    const body = jobBody(mipro);
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { job_id: string; system_id: string; proxy_url: string };
  };
  const call = (proxyUrl: string, rolloutId: string, user: string) =>
    api(`${proxyUrl}/${rolloutId}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: user }] } });
  const reward = (systemId: string, rolloutId: string, info: Record<string, unknown>) =>
    api(t.url, 'POST', `/api/v1/online/sessions/${systemId}/reward`, { key: t.key, body: { rollout_id: rolloutId, reward_info: info } });

  /** A rollout of another split, written as the proxy would (val needs the scheduler; monitor needs an ended job). */
  async function foreignRollout(store: Store, jobId: string, id: string, split: Split, user: string, score: number, feedback?: string) {
    await store.insertRollout({ jobId, id, candidateId: 'baseline', seed: split === 'val' ? 100 : null, split, correlationId: null, inputMessages: [{ role: 'user', content: user }] });
    await store.completeRolloutCall(jobId, id, {
      outputText: `A(${user})`, latencyMs: 1, usage: null, failed: false, inputMessages: [{ role: 'user', content: user }], module: 'main', variables: {},
    });
    await store.recordReward({ jobId, rolloutId: id, candidateId: 'baseline', reward: score, split, seed: null, metadata: null, feedback: feedback ?? null, feedbackByModule: null },
      { eventType: 'mipro.reward.received', message: 'test' });
  }

  it('demos_only on a program: a module whose calls never qualify as demos (tool turns) does not hold up the others', async () => {
    const body = jobBody({
      online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 3,
      max_demos: 2, demo_min_reward: 1, proposer: demosOnly(),
    }, [{ name: 'agent', template: 'Use the tools.' }, { name: 'answer', template: 'Answer briefly.' }]);
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const job = res.body as { job_id: string; system_id: string; proxy_url: string };
    // The agent's calls carry tool turns, which never become demos; the answer's are plain.
    const toolTurns = [
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'found' },
    ];
    const proposals = async () => ((await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body.items ?? []) as { module: string; status: string; tip: string }[];
    for (let i = 0; i < 40; i++) {
      const base = `${job.proxy_url}/d${i}`;
      expect((await api(base, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: 'Use the tools.' }, { role: 'user', content: `Q${i}` }, ...toolTurns] } })).status).toBe(200);
      expect((await api(base, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: `Q${i}` }] } })).status).toBe(200);
      await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, [`d${i}`])).length === 2);
      await reward(job.system_id, `d${i}`, { score: 1 });
      if ((await proposals()).some((p) => p.status === 'succeeded')) break;
    }
    expect((await proposals()).filter((p) => p.status === 'succeeded').map((p) => [p.module, p.tip])).toEqual([['answer', 'demos']]);
  });

  it('demos_only: builds demo sets only from rewarded training calls, injects them after the system text, shows and exports them', async () => {
    const job = await createJob({
      online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 3,
      max_demos: 2, demo_min_reward: 1, proposer: demosOnly(),
    });
    const store = t.server.store;
    await foreignRollout(store, job.job_id, 'v-1', 'val', 'VAL-SECRET-INPUT', 1);
    await foreignRollout(store, job.job_id, 'm-1', 'monitor', 'MONITOR-INPUT', 1);
    const proposerCalls = proposer.requests.length;
    for (let i = 0; i < 40; i++) {
      const res = await call(job.proxy_url, `r${i}`, i % 2 === 0 ? `GOOD-${i}` : `LOW-${i}`);
      expect(res.status).toBe(200);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [`r${i}`])).length === 1);
      expect((await reward(job.system_id, `r${i}`, { score: i % 2 === 0 ? 1 : 0.5 })).status).toBe(200);
      if ((await store.listCandidates(job.job_id)).length >= 3) break;
    }
    const candidates = (await api(t.url, 'GET', `/api/systems/${job.system_id}/candidates?limit=50`, { key: t.key })).body.items as {
      candidate_id: string; instructions: Record<string, string>; demos: Record<string, { input: { role: string; content: string }[]; output: string; rollout_id: string }[]>;
    }[];
    const withDemos = candidates.filter((c) => c.candidate_id !== 'baseline');
    expect(withDemos.length).toBeGreaterThanOrEqual(1);
    for (const c of withDemos) {
      const demos = c.demos.main!;
      expect(demos.length).toBeGreaterThanOrEqual(1);
      expect(demos.length).toBeLessThanOrEqual(2);
      for (const d of demos) {
        expect(d.rollout_id).toMatch(/^r\d+$/);
        expect(Number(d.rollout_id.slice(1)) % 2).toBe(0); // reward 1 only: the 0.5 rollouts are below demo_min_reward
        expect(d.output).toBe(`A(${d.input[0]!.content})`);
      }
      expect(c.instructions.main).toBe(PROMPT); // demos_only never rewrites the instruction
    }
    expect(JSON.stringify(candidates)).not.toMatch(/VAL-SECRET|MONITOR-INPUT|LOW-/);
    expect(candidates.find((c) => c.candidate_id === 'baseline')!.demos).toEqual({});
    expect(proposer.requests.length).toBe(proposerCalls); // demo-set proposals cost no proposer call
    const proposals = (await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body.items as { tip: string; status: string }[];
    expect(proposals.filter((p) => p.status === 'succeeded').every((p) => p.tip === 'demos')).toBe(true);

    // Serve one demo candidate and look at what goes upstream.
    const chosen = withDemos[0]!;
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: chosen.candidate_id } })).status).toBe(200);
    const before = policy.requests.length;
    await api(`${job.proxy_url}/after-1`, 'POST', '/chat/completions', {
      body: { model: 'x', messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: 'CLIENT-1' }, { role: 'assistant', content: 'CLIENT-2' }, { role: 'user', content: 'CLIENT-3' }] },
    });
    const sent = (policy.requests[before]!.body as { messages: { role: string; content: string }[] }).messages;
    const expected = [
      { role: 'system', content: PROMPT },
      ...chosen.demos.main!.flatMap((d) => [...d.input, { role: 'assistant', content: d.output }]),
      { role: 'user', content: 'CLIENT-1' }, { role: 'assistant', content: 'CLIENT-2' }, { role: 'user', content: 'CLIENT-3' },
    ];
    expect(sent.map((m) => ({ role: m.role, content: m.content }))).toEqual(expected);

    const json = (await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=json`, { key: t.key })).body;
    expect(json.modules[0].demos).toEqual(chosen.demos.main);
    const messages = (await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=messages`, { key: t.key })).body;
    expect(messages.modules.main).toEqual(expected.slice(0, -3)); // exactly the proxy's preamble
    const dspy = (await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=dspy`, { key: t.key })).body;
    expect(dspy.main.demos).toHaveLength(chosen.demos.main!.length);
  });

  it('demos_only: a module whose calls made tool calls (on any surface or stream) gets no demos, not even from its text answers, and the skip says why', async () => {
    // max_demos 4 and exactly four rollouts before the first proposal: a pool holding t3's plain answer
    // would make a demo set of it, showing the module an answer without tools only.
    const job = await createJob({
      online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 2,
      max_demos: 4, demo_min_reward: 1, proposer: demosOnly(),
    });
    const store = t.server.store;
    const messages = (user: string) => [{ role: 'system', content: PROMPT }, { role: 'user', content: user }];
    const calls: [string, string, Record<string, unknown>][] = [
      ['t0', '/chat/completions', { model: 'x', messages: messages('TOOLCALL-json') }],
      ['t1', '/chat/completions', { model: 'x', messages: messages('TOOLCALL-stream'), stream: true }],
      ['t2', '/responses', { model: 'x', instructions: PROMPT, input: 'TOOLCALL-responses', stream: true }],
      ['t3', '/chat/completions', { model: 'x', messages: messages('PLAIN-3') }],
    ];
    for (const [id, path, body] of calls) {
      expect((await api(`${job.proxy_url}/${id}`, 'POST', path, { body })).status).toBe(200);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [id])).length === 1);
      expect((await reward(job.system_id, id, { score: 1 })).status).toBe(200);
    }
    // The tool-call answers were recorded (as the proposer's reflection reads them), rewarded at the top.
    const recorded = await store.rolloutCalls(job.job_id, ['t0', 't1', 't2']);
    expect(recorded.map((c) => c.outputText)).toEqual(['lookup({"q":1})', 'lookup({"q":1})', 'lookup({"q":1})']);
    const skipped = async () => ((await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=200`, { key: t.key })).body.events as { event_type: string; message: string; data: Record<string, unknown> }[])
      .filter((e) => e.event_type === 'mipro.proposal.skipped');
    await waitFor(async () => (await skipped()).length > 0);
    const [event] = await skipped();
    expect(event!.data).toMatchObject({ reason: 'no_demos', mode: 'demos_only', modules: ['main'], tool_modules: ['main'] });
    expect(event!.message).toMatch(/module\(s\) main run a tool loop .* get no demos/);
    expect(await store.listCandidates(job.job_id)).toHaveLength(1); // no demo set: t3 alone is no pool
  });

  it('instruction_and_demos: a module running a tool loop only ever gets instruction proposals', async () => {
    const job = await createJob({
      online_proposer_min_rollouts: 2, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 4,
      max_demos: 2, demo_min_reward: 1, proposer: { ...demosOnly(), mode: 'instruction_and_demos' },
    });
    const store = t.server.store;
    const proposals = async () => ((await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body.items ?? []) as { tip: string; status: string }[];
    // One tool call, then many plain answers, each a would-be demo.
    expect((await call(job.proxy_url, 'k0', 'TOOLCALL-first')).status).toBe(200);
    await waitFor(async () => (await store.rolloutCalls(job.job_id, ['k0'])).length === 1);
    expect((await reward(job.system_id, 'k0', { score: 1 })).status).toBe(200);
    for (let i = 1; i < 30 && (await proposals()).filter((p) => p.status === 'succeeded').length < 3; i++) {
      const res = await call(job.proxy_url, `k${i}`, `PLAIN-${i}`);
      expect(res.status).toBe(200);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [`k${i}`])).length === 1);
      expect((await reward(job.system_id, `k${i}`, { score: 1 })).status).toBe(200);
    }
    const done = (await proposals()).filter((p) => p.status === 'succeeded');
    expect(done.length).toBeGreaterThanOrEqual(3);
    expect(done.every((p) => p.tip !== 'demos')).toBe(true);
    expect((await store.listCandidates(job.job_id)).every((c) => Object.keys(c.demos).length === 0)).toBe(true);
  });

  it('demos_only on a program: a templated module\'s collected demos carry their call\'s values and are shown with them on every surface; an oversized value is no demo', async () => {
    // max_demos 16: the templated module's first demo set is its whole pool (its parent has none), so
    // a call in the pool would be in the set.
    const TEMPLATE = 'Answer from this context:\n{context}';
    const body = jobBody({
      online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 3,
      max_demos: 16, demo_min_reward: 1, proposer: demosOnly(),
    }, [{ name: 'extract', template: 'Extract the entities.' }, { name: 'answer', template: TEMPLATE }]);
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const store = t.server.store;
    // Each answer is grounded in its own context: "A(ASK-i)" is right for CONTEXT-i only. Call c0's
    // context is over the 8,000 characters a demo's values may hold: rewarded at the top, still no demo.
    const context = (i: number) => (i === 0 ? `CONTEXT-0 ${'x'.repeat(8000)}` : `CONTEXT-${i}`);
    for (let i = 0; i < 40 && (await store.listCandidates(job.job_id)).length < 3; i++) {
      const base = `${job.proxy_url}/c${i}`;
      expect((await api(base, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: 'Extract the entities.' }, { role: 'user', content: `ENT-${i}` }] } })).status).toBe(200);
      expect((await api(base, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: `Answer from this context:\n${context(i)}` }, { role: 'user', content: `ASK-${i}` }] } })).status).toBe(200);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [`c${i}`])).length === 2);
      expect((await reward(job.system_id, `c${i}`, { score: 1 })).status).toBe(200);
    }
    await waitFor(async () => (await store.listProposals(job.job_id, 10)).every((p) => p.status !== 'running'));
    const proposals = (await store.listProposals(job.job_id, 10)).filter((p) => p.status === 'succeeded');
    // Module choice tries each module once: the templated one has a pool now.
    expect(proposals.map((p) => [p.module, p.tip]).sort()).toEqual([['answer', 'demos'], ['extract', 'demos']]);
    type View = { candidate_id: string; demos: Record<string, { input: { role: string; content: string }[]; output: string; rollout_id: string; variables?: Record<string, string> }[]> };
    const candidates = (await api(t.url, 'GET', `/api/systems/${job.system_id}/candidates?limit=50`, { key: t.key })).body.items as View[];
    const child = candidates.find((c) => c.demos.answer !== undefined)!;
    const demos = child.demos.answer!;
    const ids = demos.map((d) => d.rollout_id);
    // Every call rewarded before the first proposal is in the pool, c0 (too much context) excepted.
    expect(ids).toEqual(expect.arrayContaining(['c1', 'c2', 'c3']));
    expect(ids).not.toContain('c0');
    // Each demo carries the context its own call was answered under, and nothing else.
    for (const d of demos) {
      const n = d.rollout_id.slice(1);
      expect(d).toEqual({ input: [{ role: 'user', content: `ASK-${n}` }], output: `A(ASK-${n})`, rollout_id: `c${n}`, variables: { context: `CONTEXT-${n}` } });
    }
    // The plain module's demos keep their shape: no variables field.
    for (const c of candidates) for (const d of c.demos.extract ?? []) expect(Object.keys(d).sort()).toEqual(['input', 'output', 'rollout_id']);

    // Served: each demo shows its own context at the head of its user turn, under the call's own context.
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: child.candidate_id } })).status).toBe(200);
    const demoTurns = ids.flatMap((id) => {
      const n = id.slice(1);
      return [{ role: 'user', content: `context:\nCONTEXT-${n}\n\nASK-${n}` }, { role: 'assistant', content: `A(ASK-${n})` }];
    });
    const sentTurns = (list: { role: string; content: unknown }[]) => list.map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : (m.content as { text: string }[]).map((p) => p.text).join('') }));
    const serve = async (rollout: string, path: string, payload: Record<string, unknown>) => {
      const before = policy.requests.length;
      const res = await api(`${job.proxy_url}/${rollout}`, 'POST', path, { body: payload });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers.get('x-mipro-candidate-id')).toBe(child.candidate_id);
      expect(policy.requests.length).toBe(before + 1);
      return policy.requests[before]!;
    };
    const chat = await serve('live-chat', '/chat/completions', { model: 'x', messages: [{ role: 'system', content: 'Answer from this context:\nCONTEXT-LIVE' }, { role: 'user', content: 'ASK-LIVE' }] });
    expect(sentTurns((chat.body as { messages: { role: string; content: unknown }[] }).messages)).toEqual([
      { role: 'system', content: 'Answer from this context:\nCONTEXT-LIVE' }, ...demoTurns, { role: 'user', content: 'ASK-LIVE' },
    ]);
    // Responses, natively (the job's provider is openai): the system text in instructions, demos the first input items.
    const responses = await serve('live-responses', '/responses', { model: 'x', instructions: 'Answer from this context:\nCONTEXT-LIVE', input: 'ASK-LIVE' });
    expect(responses.url.split('?')[0]).toBe('/v1/responses');
    expect((responses.body as { instructions: string }).instructions).toBe('Answer from this context:\nCONTEXT-LIVE');
    expect(sentTurns((responses.body as { input: { role: string; content: unknown }[] }).input)).toEqual([...demoTurns, { role: 'user', content: 'ASK-LIVE' }]);
    // Messages, translated to chat for this provider.
    const messages = await serve('live-messages', '/messages', { model: 'x', max_tokens: 64, system: 'Answer from this context:\nCONTEXT-LIVE', messages: [{ role: 'user', content: 'ASK-LIVE' }] });
    expect(sentTurns((messages.body as { messages: { role: string; content: unknown }[] }).messages)).toEqual([
      { role: 'system', content: 'Answer from this context:\nCONTEXT-LIVE' }, ...demoTurns, { role: 'user', content: 'ASK-LIVE' },
    ]);

    // Export: json shows the values, messages is the injected preamble, dspy makes each value a field of the demo.
    const exported = (format: string) => api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=${format}`, { key: t.key });
    const json = (await exported('json')).body;
    expect(json.modules.find((m: { name: string }) => m.name === 'answer').demos).toEqual(demos);
    expect((await exported('messages')).body.modules.answer).toEqual([{ role: 'system', content: TEMPLATE }, ...demoTurns]);
    expect((await exported('dspy')).body.answer.demos).toEqual(demos.map((d) => ({ augmented: true, context: d.variables!.context, input_turns: d.input, output: d.output })));

    // The json export warm-starts another job with the same program, each demo with its values (SDK's exportedProgram).
    const next = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    const imported = await api(t.url, 'POST', `/api/systems/${next.body.system_id}/candidates`, { key: t.key, body: exportedProgram(ProgramExportSchema.parse(json)) });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    expect(imported.body.demos.answer).toEqual(demos.map((d) => ({ ...d, rollout_id: expect.stringMatching(/^import:[0-9a-f]{16}$/) })));
  });

  it('demos_only with no qualifying demo anywhere says so once in an event, instead of skipping every trigger in silence', async () => {
    // Graded rewards below the default threshold (the top of reward_range): no call is ever a demo.
    const job = await createJob({
      online_proposer_min_rollouts: 2, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 3,
      max_demos: 2, proposer: demosOnly(),
    });
    const store = t.server.store;
    const rollout = async (i: number) => {
      expect((await call(job.proxy_url, `g${i}`, `GRADED-${i}`)).status).toBe(200);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [`g${i}`])).length === 1);
      expect((await reward(job.system_id, `g${i}`, { score: 0.9 })).status).toBe(200);
    };
    const skipped = async () => ((await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=200`, { key: t.key })).body.events as { event_type: string; message: string; data: Record<string, unknown> }[])
      .filter((e) => e.event_type === 'mipro.proposal.skipped');
    for (let i = 0; i < 4; i++) await rollout(i);
    await waitFor(async () => (await skipped()).length > 0);
    // Later triggers find no demo either: no second event.
    for (let i = 4; i < 8; i++) await rollout(i);
    await new Promise((r) => setTimeout(r, 200));
    const events = await skipped();
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({ reason: 'no_demos', mode: 'demos_only', demo_min_reward: 1, modules: ['main'], tool_modules: [] });
    expect(events[0]!.message).toMatch(/demo_min_reward = 1/);
    expect(await store.listCandidates(job.job_id)).toHaveLength(1);
  });

  it('instruction_only: feedback reaches the proposer beside its rollouts (per module), never a val rollout\'s; children carry no demos', async () => {
    const job = await createJob({ online_proposer_min_rollouts: 6, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 2 });
    const store = t.server.store;
    await call(job.proxy_url, 'warm', 'warm');
    await waitFor(async () => (await store.listModules(job.job_id)).length === 1);
    await foreignRollout(store, job.job_id, 'v-2', 'val', 'VAL-IN', 0);
    // A val reward with feedback over HTTP is stored but never shown.
    await store.insertRollout({ jobId: job.job_id, id: 'v-3', candidateId: 'baseline', seed: 101, split: 'val', correlationId: null, inputMessages: [{ role: 'user', content: 'VAL-IN-3' }] });
    await store.completeRolloutCall(job.job_id, 'v-3', { outputText: 'x', latencyMs: 1, usage: null, failed: false, inputMessages: [{ role: 'user', content: 'VAL-IN-3' }], module: 'main', variables: {} });
    expect((await reward(job.system_id, 'v-3', { score: 0, feedback: 'VAL-FEEDBACK-SECRET' })).status).toBe(200);

    const tooLong = await reward(job.system_id, 'warm', { score: 1, feedback: 'x'.repeat(4001) });
    expect(tooLong.status).toBe(422);
    expect(JSON.stringify(tooLong.body)).toMatch(/reward_info\.feedback/);
    const badModule = await reward(job.system_id, 'warm', { score: 1, feedback_by_module: { 'Not A Module': 'x' } });
    expect(badModule.status).toBe(422);
    expect(badModule.body.error.details).toEqual([{ path: 'reward_info.feedback_by_module.Not A Module', message: 'must be a module name ([a-z0-9_-]{1,64})' }]);
    // A well-formed name that is not a module of the job (a typo) is refused too, naming the modules,
    // and nothing is recorded: the corrected resend is the rollout's first reward.
    const typo = await reward(job.system_id, 'warm', { score: 1, feedback_by_module: { mian: 'x' } });
    expect(typo.status).toBe(422);
    expect(typo.body.error.details).toEqual([{ path: 'reward_info.feedback_by_module.mian', message: 'is not a module of this job (modules: main)' }]);
    // Feedback beside reward_info instead of inside it would be dropped unseen: refused, naming where it goes.
    const beside = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: 'warm', reward_info: { score: 1 }, feedback_by_module: { main: 'x' } } });
    expect([beside.status, beside.body.error.details]).toEqual([422, [{ path: 'feedback_by_module', message: 'goes inside reward_info (reward_info.feedback_by_module)' }]]);
    // Inside reward_info under a near name (the SDK's camelCase, a typo): refused too, with the right name.
    const camel = await reward(job.system_id, 'warm', { score: 1, feedbackByModule: { main: 'x' }, feedbak: 'y', judge: 'kept: a client key of its own' });
    expect([camel.status, camel.body.error.details]).toEqual([422, [
      { path: 'reward_info.feedbackByModule', message: 'unknown field; did you mean feedback_by_module? (feedback under another name would be dropped unseen)' },
      { path: 'reward_info.feedbak', message: 'unknown field; did you mean feedback? (feedback under another name would be dropped unseen)' },
    ]]);
    const fixed = await reward(job.system_id, 'warm', { score: 1, feedback_by_module: { main: 'x' }, judge: 'kept: a client key of its own' });
    expect([fixed.status, fixed.body.duplicate]).toEqual([200, false]);

    for (let i = 0; i < 20; i++) {
      await call(job.proxy_url, `f${i}`, `Q-${i}`);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [`f${i}`])).length === 1);
      const r = await reward(job.system_id, `f${i}`, { score: i % 3 === 0 ? 1 : 0, feedback: `FEEDBACK-${i}: the label was wrong`, feedback_by_module: { main: `MODULE-FEEDBACK-${i}` } });
      expect(r.status).toBe(200);
      const done = (await store.listProposals(job.job_id, 10)).filter((p) => p.status !== 'running');
      if (done.length >= 1) break;
    }
    const proposals = await store.listProposals(job.job_id, 10);
    const prompt = JSON.stringify(proposals.find((p) => p.status === 'succeeded')?.prompt ?? proposals[0]?.prompt);
    expect(prompt).toMatch(/Feedback from the program \(why it scored so/);
    expect(prompt).toMatch(/FEEDBACK-\d+: the label was wrong/);
    expect(prompt).toMatch(/\(module main\) MODULE-FEEDBACK-\d+/);
    expect(prompt).not.toMatch(/VAL-FEEDBACK-SECRET|VAL-IN/);
    const rewards = (await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/rewards?limit=100`, { key: t.key })).body;
    const mine = (rewards.items as { rollout_id: string; feedback?: string; feedback_by_module?: Record<string, string> }[]).find((r) => r.rollout_id === 'f0');
    expect(mine?.feedback).toBe('FEEDBACK-0: the label was wrong');
    expect(mine?.feedback_by_module).toEqual({ main: 'MODULE-FEEDBACK-0' });
    const candidates = await store.listCandidates(job.job_id);
    for (const c of candidates) expect(c.demos).toEqual({});
  });

  it('instruction_and_demos: proposals of both kinds, each child changing one part of one module and copying the rest', async () => {
    const job = await createJob({
      online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 20, max_demos: 2,
      proposer: { mode: 'instruction_and_demos', model: 'fake-proposer', provider: 'openai_compatible', inference_url: proposer.url, instructions_per_batch: 1 },
    });
    const store = t.server.store;
    // The kind is a Thompson draw (even odds here: the fake policy ignores the prompt, so no kind wins more):
    // run until both kinds have produced children (P(one kind in all 19 proposals) is about 4e-6).
    const kinds = async () => new Set((await store.listProposals(job.job_id, 50)).filter((p) => p.status === 'succeeded').map((p) => p.tip === 'demos'));
    for (let i = 0; i < 200 && (await kinds()).size < 2 && (await store.listCandidates(job.job_id)).length < 20; i++) {
      expect((await call(job.proxy_url, `b${i}`, `ITEM-${i}`)).status).toBe(200);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [`b${i}`])).length === 1);
      expect((await reward(job.system_id, `b${i}`, { score: i % 3 === 0 ? 0 : 1 })).status).toBe(200);
    }
    await waitFor(async () => (await store.listProposals(job.job_id, 50)).every((p) => p.status !== 'running'));
    const done = (await store.listProposals(job.job_id, 50)).filter((p) => p.status === 'succeeded');
    expect(done.some((p) => p.tip === 'demos')).toBe(true);
    expect(done.some((p) => p.tip !== 'demos')).toBe(true);
    const candidates = await store.listCandidates(job.job_id);
    const byId = new Map(candidates.map((c) => [c.id, c]));
    for (const c of candidates.filter((x) => x.parentId)) {
      const parent = byId.get(c.parentId!)!;
      const sameDemos = JSON.stringify(c.demos) === JSON.stringify(parent.demos);
      const sameText = JSON.stringify(c.instructions) === JSON.stringify(parent.instructions);
      expect(sameDemos !== sameText, `${c.id} changes exactly one part`).toBe(true);
      const fromDemoProposal = done.find((p) => p.candidateIds.includes(c.id))?.tip === 'demos';
      expect(fromDemoProposal ? !sameDemos : !sameText).toBe(true);
    }
  });

  it('module choice follows the modules the app blames in feedback_by_module of low-reward rollouts', async () => {
    // A proposal every 6 rewards: the third (the first that blame decides) then sees at least 13
    // blamed answers, so the blame draw picks plan with chance 2^-14. With 3 it saw 6 (2^-7 per
    // proposal, about 1% per run): a clean-clone test run failed on it once.
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url,
      mipro: { online_proposer_min_rollouts: 6, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 7 },
    });
    Object.assign(body.policy_optimization, { modules: [{ name: 'plan', template: 'Plan how to answer.' }, { name: 'answer', template: 'Answer from this context:\n{context}' }] });
    (body.policy_optimization.mipro.proposer as Record<string, unknown>).instructions_per_batch = 1;
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const store = t.server.store;
    for (let i = 0; i < 80 && (await store.listCandidates(job.job_id)).length < 7; i++) {
      const base = `${job.proxy_url}/p${i}/chat/completions`;
      await api(base, 'POST', '', { body: { model: 'x', messages: [{ role: 'system', content: 'Plan how to answer.' }, { role: 'user', content: `PLAN-${i}` }] } });
      await api(base, 'POST', '', { body: { model: 'x', messages: [{ role: 'system', content: `Answer from this context:\nCTX-${i}` }, { role: 'user', content: `ASK-${i}` }] } });
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [`p${i}`])).length === 2);
      const failed = i % 4 !== 0;
      expect((await reward(job.system_id, `p${i}`, failed ? { score: 0, feedback_by_module: { answer: 'the answer ignored the context' } } : { score: 1 })).status).toBe(200);
    }
    await waitFor(async () => (await store.listProposals(job.job_id, 50)).every((p) => p.status !== 'running'));
    const modules = (await store.listProposals(job.job_id, 50)).filter((p) => p.status === 'succeeded').reverse().map((p) => p.module);
    expect(modules.length).toBeGreaterThanOrEqual(5);
    expect(modules.slice(0, 2)).toEqual(['plan', 'answer']); // every module is tried once first
    expect(modules.slice(2).every((m) => m === 'answer')).toBe(true);
  });

  it('demos_only with every demo set tried: later rewards skip without reading the store, until a reward may add a demo', async () => {
    // One demo, max_demos 1: one set, tried by the first proposal; every later trigger skips.
    const job = await createJob({
      online_proposer_min_rollouts: 1, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 6,
      max_demos: 1, demo_min_reward: 1, proposer: demosOnly(),
    });
    const store = t.server.store;
    const rollout = async (id: string, score: number) => {
      expect((await call(job.proxy_url, id, `Q-${id}`)).status).toBe(200);
      await waitFor(async () => (await store.rolloutCalls(job.job_id, [id])).length === 1);
      expect((await reward(job.system_id, id, { score })).status).toBe(200);
    };
    const skippedCount = async () => Number(/miprox_proposals_total\{outcome="skipped"\} (\d+)/.exec(await fetch(`${t.url}/metrics`).then((r) => r.text()))?.[1] ?? 0);
    const succeeded = async () => (await store.listProposals(job.job_id, 50)).filter((p) => p.status === 'succeeded').length;
    // The proposal read path's store reads, counted for this job.
    const reads = { demoSourceCalls: 0, moduleCallOrder: 0 };
    const original = { demoSourceCalls: store.demoSourceCalls.bind(store), moduleCallOrder: store.moduleCallOrder.bind(store) };
    store.demoSourceCalls = (jobId, ...rest) => {
      if (jobId === job.job_id) reads.demoSourceCalls += 1;
      return original.demoSourceCalls(jobId, ...rest);
    };
    store.moduleCallOrder = (jobId) => {
      if (jobId === job.job_id) reads.moduleCallOrder += 1;
      return original.moduleCallOrder(jobId);
    };
    try {
      await rollout('good0', 1);
      await waitFor(async () => (await succeeded()) === 1);
      // Its child is measured, then a trigger finds the one set tried: the first skip reads as before.
      const before = await skippedCount();
      for (let i = 0; i < 10 && (await skippedCount()) === before; i++) {
        await rollout(`low${i}`, 0);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await skippedCount()).toBeGreaterThan(before);
      const atSkip = { ...reads };
      const skippedAtSkip = await skippedCount();
      for (let i = 0; i < 5; i++) {
        await rollout(`more${i}`, 0);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Every one of these rewards triggered a proposal, and each skipped without a read.
      expect(await skippedCount()).toBeGreaterThanOrEqual(skippedAtSkip + 5);
      expect(reads).toEqual(atSkip);
      // A reward that may add a demo: decided again, and the new demo makes a new set.
      await rollout('good1', 1);
      await waitFor(async () => (await succeeded()) === 2);
      expect(reads.demoSourceCalls).toBeGreaterThan(atSkip.demoSourceCalls);
    } finally {
      Object.assign(store, original);
    }
  });

  it('demos_only: when the chosen module has no untried demo set left, the proposal goes to another module instead of every trigger skipping', async () => {
    // plan is called once (one demo, max_demos 1: one set, tried by the first round's proposal); the
    // app then blames plan in every low-reward rollout, so module choice keeps picking it.
    const body = jobBody({
      online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 6,
      max_demos: 1, demo_min_reward: 1, proposer: demosOnly(),
    }, [{ name: 'plan', template: 'Plan how to answer.' }, { name: 'answer', template: 'Answer briefly.' }]);
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const job = res.body as { job_id: string; system_id: string; proxy_url: string };
    const succeeded = async () => (await t.server.store.listProposals(job.job_id, 50)).filter((p) => p.status === 'succeeded').reverse().map((p) => p.module);
    for (let i = 0; i < 60 && (await succeeded()).length < 4; i++) {
      const base = `${job.proxy_url}/x${i}`;
      if (i === 0) expect((await api(base, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: 'Plan how to answer.' }, { role: 'user', content: 'PLAN-0' }] } })).status).toBe(200);
      expect((await api(base, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: `ASK-${i}` }] } })).status).toBe(200);
      await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, [`x${i}`])).length === (i === 0 ? 2 : 1));
      const good = i % 2 === 0;
      expect((await reward(job.system_id, `x${i}`, good ? { score: 1 } : { score: 0, feedback_by_module: { plan: 'the plan was wrong' } })).status).toBe(200);
    }
    await waitFor(async () => (await t.server.store.listProposals(job.job_id, 50)).every((p) => p.status !== 'running'));
    const modules = await succeeded();
    expect(modules.slice(0, 2)).toEqual(['plan', 'answer']); // the first round
    expect(modules.length).toBeGreaterThanOrEqual(4);
    expect(modules.slice(2).every((m) => m === 'answer')).toBe(true);
  });

  it('the proposer reads the parent\'s mean and interval of one statistic: with seeds run unequally the mean sits inside its interval', async () => {
    // 25 seeds rewarded 1 ran 5 times each, 25 rewarded 0 once: 125/150 per rollout, 0.5 per seed.
    // The seed-level interval is about [0.36, 0.64]; the prompt showed the per-rollout 0.833 beside it.
    const job = await createJob({ online_proposer_min_rollouts: 150, online_rollouts_per_candidate: 10, online_pool: Array.from({ length: 50 }, (_, i) => i + 1) });
    const before = proposer.requests.length;
    let i = 0;
    for (let seed = 1; seed <= 50; seed++) {
      for (let k = 0; k < (seed <= 25 ? 5 : 1); k++) {
        const rid = `u${i++}`;
        const res = await api(`${job.proxy_url}/${rid}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: `S${seed}` }] }, headers: { 'x-mipro-seed': String(seed) } });
        expect(res.status).toBe(200);
        await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, [rid])).length === 1);
        expect((await reward(job.system_id, rid, { score: seed <= 25 ? 1 : 0 })).status).toBe(200);
      }
    }
    await waitFor(async () => proposer.requests.slice(before).some((r) => JSON.stringify(r.body).includes('Score on live traffic')));
    const prompt = JSON.stringify(proposer.requests.slice(before).find((r) => JSON.stringify(r.body).includes('Score on live traffic'))!.body);
    const [, mean, lo, hi, n] = /Score on live traffic: ([\d.]+) \[([\d.]+), ([\d.]+)\], n=(\d+)/.exec(prompt)!.map(Number);
    expect(n).toBe(150);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(lo).toBeLessThanOrEqual(mean!);
    expect(mean).toBeLessThanOrEqual(hi!);
  });

  it('refuses bad demo settings naming the field', async () => {
    const bad = async (mipro: Record<string, unknown>, field: RegExp) => {
      const body = seedJobBody({ initialPrompt: PROMPT, mipro });
      const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(JSON.stringify(res.body)).toMatch(field);
    };
    await bad({ max_demos: 17 }, /max_demos/);
    await bad({ demo_min_reward: 2 }, /demo_min_reward/);
    await bad({ proposer: { mode: 'demos_sometimes', model: 'm', provider: 'openai' } }, /proposer\.mode/);
  });
});
