import { describe, expect, it } from 'vitest';
import { type FakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, addModuleCandidates, api, seedJobBody } from '../helpers/server.js';
import { addProgram } from '../helpers/programs.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';
const MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'retrieve', template: 'Write a search query for: {topic}' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];

/**
 * Programs over real HTTP (SPEC.md, "Programs"): every call reaches the upstream with its own
 * module's prompt, templates are rendered with captured and explicit variables, and calls of no
 * module pass through untouched. On SQLite and PostgreSQL.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('programs (%s)', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, start: { cacheTtlMs: 20 }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));

  async function newJob(program: Record<string, unknown>, mipro: Record<string, unknown> = {}) {
    const body = seedJobBody({ mipro });
    Object.assign(body.policy_optimization, program);
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { job_id: string; system_id: string; proxy_url: string };
  }

  const chat = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    api(url, 'POST', '/chat/completions', { body, headers });
  const call = (system: string, user = 'q') => ({ model: 'x', messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });

  it('sends each call of a 3-module rollout upstream with its own module of the rollout\'s candidate', async () => {
    const job = await newJob({ modules: MODULES }, { online_rollouts_per_candidate: 1 });
    const program = {
      extract: 'EXTRACT carefully.', retrieve: 'QUERY for {topic}, short.', answer: 'ANSWER using only:\n{context}\nCite it.',
    };
    await addProgram(t.server.store, job.job_id, 'cand_full', program, 'answer');
    await new Promise((r) => setTimeout(r, 50));
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const base = `${job.proxy_url}/r${i}`;
      const sent = [
        await chat(base, call(MODULES[0]!.template)),
        await chat(base, call('Write a search query for: the Eiffel tower')),
        await chat(base, call('Answer from this context:\nIt is 330 m tall.')),
      ];
      const candidates = new Set(sent.map((r) => r.headers.get('x-mipro-candidate-id')));
      expect(candidates.size).toBe(1); // one candidate for all calls of a rollout
      const id = [...candidates][0]!;
      seen.add(id);
      const prompts = fake.requests.slice(-3).map(systemPromptOf);
      if (id === 'cand_full') {
        expect(prompts).toEqual(['EXTRACT carefully.', 'QUERY for the Eiffel tower, short.', 'ANSWER using only:\nIt is 330 m tall.\nCite it.']);
      } else {
        expect(prompts).toEqual([MODULES[0]!.template, 'Write a search query for: the Eiffel tower', 'Answer from this context:\nIt is 330 m tall.']);
      }
    }
    expect(seen).toEqual(new Set(['baseline', 'cand_full']));
    await waitFor(async () => (await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/r0`, { key: t.key })).body?.calls?.length === 3);
    const rollout = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/r0`, { key: t.key });
    expect(rollout.body.calls.map((c: { module: string }) => c.module)).toEqual(['extract', 'retrieve', 'answer']);
    expect(rollout.body.calls[2].variables).toEqual({ context: 'It is 330 m tall.' });
    expect(rollout.body.calls[1].input_messages).toEqual([{ role: 'user', content: 'q' }]);
    // The record keeps no system text: the view gives each call's as the proxy served it (what the upstream got).
    const served = rollout.body.candidate_id === 'cand_full'
      ? ['EXTRACT carefully.', 'QUERY for the Eiffel tower, short.', 'ANSWER using only:\nIt is 330 m tall.\nCite it.']
      : [MODULES[0]!.template, 'Write a search query for: the Eiffel tower', 'Answer from this context:\nIt is 330 m tall.'];
    expect(rollout.body.calls.map((c: { system_prompt: string | null }) => c.system_prompt)).toEqual(served);
  });

  it('gives each call of a rollout view the demo turns the proxy inserted, as the upstream got them', async () => {
    const job = await newJob({ modules: MODULES });
    const demos = [{ input: [{ role: 'user' as const, content: 'Which tower?' }], output: 'The Eiffel tower.', rolloutId: 'r-src' }];
    await addModuleCandidates(t.server.store, job.job_id, 'extract', { cand_demo: 'EXTRACT with examples.' }, { cand_demo: demos });
    await new Promise((r) => setTimeout(r, 50));
    // Served to every call from now on: the rollout is the candidate's.
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_demo' } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect((await chat(`${job.proxy_url}/d1`, call(MODULES[0]!.template, 'Where is it?'))).headers.get('x-mipro-candidate-id')).toBe('cand_demo');
    const sent = (fake.requests.at(-1)!.body as { messages: unknown[] }).messages;
    await chat(`${job.proxy_url}/d1`, call('Write a search query for: towers'));
    await waitFor(async () => (await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/d1`, { key: t.key })).body?.calls?.length === 2);
    const view = (await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/d1`, { key: t.key })).body;
    // Between the served system text and the client's own message.
    expect(view.calls[0].demo_turns).toEqual(sent.slice(1, -1));
    expect(view.calls[0].demo_turns).toEqual([{ role: 'user', content: 'Which tower?' }, { role: 'assistant', content: 'The Eiffel tower.' }]);
    expect(view.calls[0].system_prompt).toBe('EXTRACT with examples.');
    // A module the candidate has no demos for got none.
    expect(view.calls[1].demo_turns).toEqual([]);
  });

  it('renders explicit variables, names modules by header or body, and never forwards the mipro field', async () => {
    const job = await newJob({ modules: MODULES }, { online_rollouts_per_candidate: 1 });
    await addProgram(t.server.store, job.job_id, 'cand_vars', { answer: 'Use only:\n{context}', extract: 'EXTRACT.' }, 'answer');
    await new Promise((r) => setTimeout(r, 50));
    const served = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const base = `${job.proxy_url}/vars${i}`; // (not "v1": that is the /v1 prefix)
      // The header names the module (and wins over the body's); the text does not match, so the variable comes from the body.
      const named = await chat(base, { ...call('Something unrelated'), mipro: { module: 'extract', variables: { context: 'C1' } } }, { 'x-mipro-module': 'answer' });
      // Explicit values win over captured ones.
      const again = await chat(base, { ...call('Answer from this context:\ncaptured'), mipro: { variables: { context: 'explicit' } } });
      expect(again.headers.get('x-mipro-candidate-id')).toBe(named.headers.get('x-mipro-candidate-id'));
      const id = named.headers.get('x-mipro-candidate-id')!;
      served.add(id);
      const [first, second] = fake.requests.slice(-2).map(systemPromptOf);
      if (id === 'cand_vars') {
        expect([first, second]).toEqual(['Use only:\nC1', 'Use only:\nexplicit']);
      } else {
        // The baseline too: its template rendered with the call's variables, the explicit ones winning
        // (the app's text is not what the template gives with them), so the model sees the variables recorded.
        expect([first, second]).toEqual(['Answer from this context:\nC1', 'Answer from this context:\nexplicit']);
        // It keeps the app's own prompt exactly as sent when that is the template filled with the call's
        // variables: a plain match, or explicit values equal to the captured ones.
        await chat(base, call('Answer from this context:\ncaptured'));
        await chat(base, { ...call('Answer from this context:\ncaptured'), mipro: { variables: { context: 'captured' } } });
        expect(fake.requests.slice(-2).map((r) => (r.body as { messages: unknown }).messages)).toEqual([call('Answer from this context:\ncaptured').messages, call('Answer from this context:\ncaptured').messages]);
      }
      for (const r of fake.requests.slice(-2)) expect(r.body).not.toHaveProperty('mipro');
    }
    expect(served).toEqual(new Set(['baseline', 'cand_vars']));
  });

  it('keeps the app\'s own prompt on the baseline for a module named by header whose template the text does not match, without variables', async () => {
    const job = await newJob({ modules: MODULES });
    const system = { role: 'system', content: [{ type: 'text', text: 'Pull out the people and places.', cache_control: { type: 'ephemeral' } }] };
    const res = await chat(`${job.proxy_url}/named`, { model: 'x', messages: [system, { role: 'user', content: 'q' }] }, { 'x-mipro-module': 'extract' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-mipro-candidate-id')).toBe('baseline');
    expect((fake.requests.at(-1)!.body as { messages: unknown[] }).messages[0]).toEqual(system);
    // The record keeps no system text, and the template is not what went upstream: the rollout view
    // must not show it as served (it did: 'Extract the entities from the question.').
    await waitFor(async () => (await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/named`, { key: t.key })).body?.calls?.length === 1);
    // A matching call of the same module in the same rollout: its text is the template's, rebuilt.
    await chat(`${job.proxy_url}/named`, call(MODULES[0]!.template), { 'x-mipro-module': 'extract' });
    await waitFor(async () => (await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/named`, { key: t.key })).body?.calls?.length === 2);
    const view = (await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/named`, { key: t.key })).body;
    expect(view.calls.map((c: { module: string; system_prompt: string | null; demo_turns: unknown }) => [c.module, c.system_prompt, c.demo_turns]))
      .toEqual([['extract', null, []], ['extract', MODULES[0]!.template, []]]);
  });

  it('refuses a missing variable or an unknown module with a 422 before any upstream call or record', async () => {
    const job = await newJob({ modules: MODULES });
    const missing = await chat(`${job.proxy_url}/no-var`, call('Not the answer template'), { 'x-mipro-module': 'answer' });
    expect(missing.status).toBe(422);
    expect(missing.body.error).toMatchObject({ param: 'mipro.variables.context', message: expect.stringMatching(/system text did not match module "answer"/) });
    // Without a system message there is nothing to capture from, and the reason says so.
    const bare = await chat(`${job.proxy_url}/no-system`, { model: 'x', messages: [{ role: 'user', content: 'q' }] }, { 'x-mipro-module': 'answer' });
    expect(bare.status).toBe(422);
    expect(bare.body.error.message).toMatch(/the call has no system message/);
    const unknown = await chat(`${job.proxy_url}/no-module`, { ...call('x'), mipro: { module: 'planner' } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.message).toMatch(/planner/);
    expect(JSON.stringify(unknown.body)).toMatch(/extract, retrieve, answer/);
    const badBody = await chat(job.proxy_url, { ...call('x'), mipro: { modul: 'answer' } });
    expect(badBody.status).toBe(422);
    expect(fake.requests).toHaveLength(0);
    expect(await t.server.store.getRollout(job.job_id, 'no-var')).toBeNull();
    expect(await t.server.store.getRollout(job.job_id, 'no-system')).toBeNull();
    expect(await t.server.store.getRollout(job.job_id, 'no-module')).toBeNull();
  });

  it('names at most 20 missing variables in the message of a template with many, and counts the rest', async () => {
    const template = Array.from({ length: 500 }, (_, i) => `{v${i}}`).join(' and ');
    const job = await newJob({ modules: [{ name: 'wide', template }] });
    const res = await chat(`${job.proxy_url}/wide`, call('Another text'), { 'x-mipro-module': 'wide' });
    expect(res.status).toBe(422);
    expect(res.body.error.param).toBe('mipro.variables.v0');
    expect(res.body.error.message).toMatch(/^module "wide" needs variables v0, v1, .*, v19 and 480 more \(500 problems; the first 20 are listed\): mipro\.variables\.v0: has no value/);
    expect(res.body.error.message.length).toBeLessThan(5000);
  });

  it('passes a call of no module through byte-identical and reports its text once', async () => {
    const job = await newJob({ modules: MODULES });
    const messages = [
      { role: 'system', content: [{ type: 'text', text: 'An unrelated tool-using agent.' }] },
      { role: 'user', content: 'hello', name: 'ada' },
    ];
    const body = { model: 'x', messages, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], temperature: 0.4 };
    const first = await chat(`${job.proxy_url}/u1`, body);
    await chat(`${job.proxy_url}/u2`, body);
    // The answer says it passed through (a typo in a system text shows at once), and names no module.
    expect([first.headers.get('x-mipro-unmatched'), first.headers.get('x-mipro-module')]).toEqual(['true', null]);
    const matched = await chat(`${job.proxy_url}/m1`, { model: 'x', messages: [{ role: 'system', content: MODULES[0]!.template }, { role: 'user', content: 'q' }] });
    expect([matched.headers.get('x-mipro-module'), matched.headers.get('x-mipro-unmatched')]).toEqual([MODULES[0]!.name, null]);
    const sent = fake.requests.at(-2)!.body as { messages: unknown; tools: unknown; model: string; temperature: number };
    expect(sent.messages).toEqual(messages);
    expect(sent.tools).toEqual(body.tools);
    expect(sent.model).toBe('gpt-4o-mini'); // the policy model is still forced
    expect(sent.temperature).toBe(0.4);
    await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, ['u2'])).length === 1);
    expect((await t.server.store.rolloutCalls(job.job_id, ['u1', 'u2'])).map((c) => c.module)).toEqual([null, null]);
    // Its system text went upstream as the app sent it and is not stored: the rollout view has none to show.
    const u1 = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/u1`, { key: t.key });
    expect(u1.body.calls.map((c: { module: string | null; system_prompt: string | null; demo_turns: unknown }) => [c.module, c.system_prompt, c.demo_turns])).toEqual([[null, null, null]]);
    const events = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=100`, { key: t.key });
    const unmatched = events.body.events.filter((e: { event_type: string }) => e.event_type === 'mipro.module.unmatched');
    expect(unmatched).toHaveLength(1);
    expect(unmatched[0].data.preview).toBe('An unrelated tool-using agent.');
    // The job view counts the distinct texts that passed through (miprox jobs show prints it).
    expect((await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: t.key })).body.unmatched_prompts).toBe(1);
  });

  it('discovers modules from traffic up to max_modules, then passes the rest through', async () => {
    const job = await newJob({}, { max_modules: 2 });
    for (const text of ['Plan the steps.', 'Plan the steps.', 'Call the tools.', 'Summarise the result.']) await chat(job.proxy_url, call(text));
    // A named module that does not exist yet is discovered too, while there is room: here there is none.
    const named = await chat(job.proxy_url, call('Check.'), { 'x-mipro-module': 'checker' });
    expect(named.status).toBe(422);
    expect(named.body.error).toMatchObject({ param: 'x-mipro-module', message: expect.stringMatching(/modules: m1, m2\); the job discovers modules and has reached mipro.max_modules \(2\)/) });
    const view = await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key });
    expect(view.body.modules.map((m: { name: string; template: string }) => [m.name, m.template])).toEqual([['m1', 'Plan the steps.'], ['m2', 'Call the tools.']]);
    expect(fake.requests.map(systemPromptOf)).toEqual(['Plan the steps.', 'Plan the steps.', 'Call the tools.', 'Summarise the result.']);
    const events = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=100`, { key: t.key });
    const types = events.body.events.map((e: { event_type: string }) => e.event_type);
    expect(types.filter((x: string) => x === 'mipro.module.discovered')).toHaveLength(2);
    expect(types.filter((x: string) => x === 'mipro.module.unmatched')).toHaveLength(1);
    const unmatched = events.body.events.find((e: { event_type: string }) => e.event_type === 'mipro.module.unmatched');
    expect(unmatched.data.reason).toBe('max_modules');
    expect(unmatched.message).toMatch(/reached mipro.max_modules \(2\): if system texts carry per-request content, declare the modules with templates/);
    // Different prompts: no hint that they are one template.
    expect(events.body.events.filter((e: { event_type: string }) => e.event_type === 'mipro.module.discovered').map((e: { data: { similar_to: unknown } }) => e.data.similar_to)).toEqual([null, null]);
  });

  it('refuses mipro.max_modules beside declared modules, where it bounds nothing, and stores the default for discovery', async () => {
    const refused = async (program: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
      const body = seedJobBody({ mipro: { max_modules: 4 } });
      Object.assign(body.policy_optimization, program);
      const res = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...body, ...extra } });
      expect(res.status).toBe(422);
      return res.body.error.details;
    };
    expect(await refused({ modules: MODULES })).toEqual([{
      path: 'policy_optimization.mipro.max_modules',
      message: 'must not be given with modules: it only bounds module discovery, which a job with declared modules does not do; remove it',
    }]);
    expect(await refused({ initial_prompt: { messages: [{ role: 'system', pattern: 'Classify.' }] } })).toEqual([{
      path: 'policy_optimization.mipro.max_modules', message: expect.stringMatching(/^must not be given with initial_prompt \(its system pattern is module "main"\): it only bounds module discovery/),
    }]);
    // Set by an override, the problem is reported where the client wrote it.
    const body = seedJobBody();
    Object.assign(body.policy_optimization, { modules: MODULES });
    const viaOverride = await api(t.url, 'POST', JOBS, { key: t.key, body: { config_body: body, overrides: { 'policy_optimization.mipro.max_modules': 2 } } });
    expect(viaOverride.body.error.details.map((d: { path: string }) => d.path)).toEqual(['overrides.policy_optimization.mipro.max_modules']);
    // Without a system pattern, initial_prompt declares no module: the job discovers, and the cap applies.
    const discovering = seedJobBody({ mipro: { max_modules: 1 } });
    Object.assign(discovering.policy_optimization, { initial_prompt: { messages: [{ role: 'user', pattern: 'Query: {query}' }] } });
    const ok = await api(t.url, 'POST', JOBS, { key: t.key, body: discovering });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect((await t.server.store.getJob(ok.body.job_id))!.config.mipro.max_modules).toBe(1);
    const declared = await newJob({ modules: MODULES });
    expect((await t.server.store.getJob(declared.job_id))!.config.mipro.max_modules).toBe(8);
  });

  it('says when a discovered text looks like another one with per-request content in it', async () => {
    const job = await newJob({}, { max_modules: 3 });
    const rag = (doc: string) => `Answer the customer's question using only this document:\n${doc}\nIf the document does not say, answer "unknown".`;
    for (const doc of ['Cards arrive in 5 days.', 'Transfers take up to 2 business days to clear.', 'Plan the steps.']) {
      expect((await chat(job.proxy_url, call(rag(doc)))).status).toBe(200);
    }
    const events = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=100`, { key: t.key });
    const discovered = events.body.events.filter((e: { event_type: string }) => e.event_type === 'mipro.module.discovered');
    expect(discovered.map((e: { data: { module: string; similar_to: unknown } }) => [e.data.module, e.data.similar_to])).toEqual([['m1', null], ['m2', 'm1'], ['m3', 'm1']]);
    expect(discovered[1].message).toMatch(/shares its start and end \(\d+ characters\) with module m1: if the system text carries per-request content, declare the modules with templates/);
    // Unmatched calls of a job with declared modules keep the plain reason.
    const declared = await newJob({ modules: MODULES });
    await chat(declared.proxy_url, call('Something else entirely.'));
    await waitFor(async () => (await api(t.url, 'GET', `/api/v1/online/sessions/${declared.system_id}/events?limit=100`, { key: t.key })).body.events
      .some((e: { event_type: string }) => e.event_type === 'mipro.module.unmatched'));
    const declaredEvents = await api(t.url, 'GET', `/api/v1/online/sessions/${declared.system_id}/events?limit=100`, { key: t.key });
    const plain = declaredEvents.body.events.find((e: { event_type: string }) => e.event_type === 'mipro.module.unmatched');
    expect([plain.data.reason, plain.message]).toEqual(['no_match', expect.not.stringMatching(/max_modules/)]);
    expect(plain.data.closest).toBeNull(); // like no template
    // A text that drifted from its template (the period left out) names the module and the place,
    // quoting the template only (the text is the app's call, which RETENTION_DAYS clears from previews).
    await chat(declared.proxy_url, call('Extract the entities from the question'));
    const drifted = async () => (await api(t.url, 'GET', `/api/v1/online/sessions/${declared.system_id}/events?limit=100`, { key: t.key })).body.events
      .filter((e: { event_type: string }) => e.event_type === 'mipro.module.unmatched')[1];
    await waitFor(async () => (await drifted()) !== undefined);
    const near = await drifted();
    expect(near.data.closest).toEqual({ module: 'extract', reason: 'at character 39 the template has "." where the text ends' });
    expect(near.message).toMatch(/; closest module: extract \(at character 39 the template has "\." where the text ends\)$/);
  });

  it('discovers one module for a text cut mid-emoji (a lone surrogate), stored and matched alike on both databases', async () => {
    const job = await newJob({}, { max_modules: 3 });
    const cut = 'Context: Great product \ud83d'; // an app's text.slice() through an emoji
    for (let i = 0; i < 4; i++) expect((await chat(`${job.proxy_url}/cut${i}`, call(cut))).status).toBe(200);
    expect((await chat(`${job.proxy_url}/other`, call('A second prompt.'))).status).toBe(200);
    const view = await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key });
    expect(view.body.modules.map((m: { name: string; template: string }) => [m.name, m.template])).toEqual([['m1', 'Context: Great product \ufffd'], ['m2', 'A second prompt.']]);
    await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, ['other'])).length === 1);
    const calls = await t.server.store.rolloutCalls(job.job_id, ['cut0', 'cut1', 'cut2', 'cut3', 'other']);
    expect(calls.map((c) => c.module)).toEqual(['m1', 'm1', 'm1', 'm1', 'm2']);
    // The baseline still sends the app's text as it came.
    expect(systemPromptOf(fake.requests[0]!)).toBe(cut);
    // A declared template holding one is refused, naming the field, as a NUL is.
    const warm = await api(t.url, 'POST', `/api/systems/${job.system_id}/candidates`, { key: t.key, body: { module: 'm2', instruction: 'Cut \ud83d' } });
    expect([warm.status, warm.body.error.details]).toEqual([422, [{ path: 'instruction', message: expect.stringMatching(/lone UTF-16 surrogate/) }]]);
    const declared = seedJobBody();
    Object.assign(declared.policy_optimization, { modules: [{ name: 'a', template: 'Hi \ud83d there {x}.' }] });
    const refused = await api(t.url, 'POST', JOBS, { key: t.key, body: declared });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details).toEqual([{ path: 'policy_optimization.modules.0.template', message: expect.stringMatching(/lone UTF-16 surrogate/) }]);
  });

  it('refuses a NUL in mipro.variables before any upstream call, and records only the template\'s variables', async () => {
    const job = await newJob({ modules: MODULES });
    const nul = await chat(`${job.proxy_url}/nul`, { ...call('x'), mipro: { module: 'answer', variables: { context: 'a\u0000b' } } });
    expect(nul.status).toBe(422);
    expect(nul.body.error).toMatchObject({ param: 'mipro.variables.context' });
    expect(fake.requests).toHaveLength(0);
    expect(await t.server.store.getRollout(job.job_id, 'nul')).toBeNull();
    const extra = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v']));
    const ok = await chat(`${job.proxy_url}/extra`, { ...call('Answer from this context:\nfacts'), mipro: { variables: { ...extra, topic: 'not this module\'s' } } });
    expect(ok.status).toBe(200);
    await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, ['extra'])).length === 1);
    expect((await t.server.store.rolloutCalls(job.job_id, ['extra']))[0]).toMatchObject({ module: 'answer', variables: { context: 'facts' } });
  });

  it('refuses a NUL in the system text on every surface, before a discovering job stores it as a module', async () => {
    const job = await newJob({});
    const post = (path: string, body: unknown) => api(`${job.proxy_url}/nul${path.replace('/', '-')}`, 'POST', path, { body });
    const responses = await post('/responses', { model: 'm', input: 'hi', instructions: 'x\u0000y' });
    const item = await post('/responses', { model: 'm', input: [{ role: 'user', content: 'q' }, { role: 'developer', content: [{ type: 'input_text', text: 'x\u0000y' }] }] });
    const messages = await post('/messages', { model: 'm', max_tokens: 10, system: [{ type: 'text', text: 'x\u0000y' }], messages: [{ role: 'user', content: 'q' }] });
    expect([responses, item].map((r) => [r.status, JSON.stringify(r.body).match(/"(?:param|path)":"([^"]+)"/)?.[1]])).toEqual([
      [422, 'instructions'], [422, 'input.1.content'],
    ]);
    // Anthropic's error shape has no field of its own: the message names it.
    expect([messages.status, messages.body.error.message]).toEqual([422, expect.stringMatching(/system: must not contain the NUL character/)]);
    expect(fake.requests).toHaveLength(0);
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body.modules).toEqual([]);
  });

  it('discovers no module and reports no unmatched text for a call refused on its seed', async () => {
    const job = await newJob({}, { max_modules: 1 });
    const bad = await chat(`${job.proxy_url}/badseed`, call('First prompt'), { 'x-mipro-seed': 'abc' });
    const held = await chat(`${job.proxy_url}/held`, call('Second prompt'), { 'x-mipro-seed': '100' });
    expect([bad.status, bad.body.error.param, held.status, held.body.error.param]).toEqual([422, 'seed', 422, 'seed']);
    expect(fake.requests).toHaveLength(0);
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body.modules).toEqual([]);
    // The job's one module slot is still free for the app's real first prompt, and nothing else was written.
    expect((await chat(`${job.proxy_url}/ok`, call('Real prompt'), { 'x-mipro-seed': '3' })).status).toBe(200);
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body.modules.map((m: { template: string }) => m.template)).toEqual(['Real prompt']);
    const events = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events`, { key: t.key });
    expect(events.body.events.filter((e: { event_type: string }) => e.event_type.startsWith('mipro.module.')).map((e: { data: { module?: string } }) => e.data.module)).toEqual(['m1']);
    expect(await t.server.store.getRollout(job.job_id, 'held')).toBeNull();
  });

  it('says why a warm start needs a module when the discovering job has seen no call yet', async () => {
    const job = await newJob({});
    const res = await api(t.url, 'POST', `/api/systems/${job.system_id}/candidates`, { key: t.key, body: { instruction: 'Mine.' } });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'module', message: 'is required: the job has no module yet (it discovers its modules from the calls it sees, and has seen none)' }]);
  });

  it('keeps a discovered module to its exact text: another text under its name is passed through', async () => {
    const job = await newJob({});
    await chat(job.proxy_url, { ...call('Plan for user Alice.'), mipro: { module: 'plan' } });
    await chat(job.proxy_url, { ...call('Plan for user Bob.'), mipro: { module: 'plan' } });
    await chat(job.proxy_url, { model: 'x', messages: [{ role: 'user', content: 'no system' }] }, { 'x-mipro-module': 'plan' });
    await addProgram(t.server.store, job.job_id, 'cand_plan', { plan: 'Plan for user Alice, step by step.' }, 'plan');
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 6; i++) await chat(`${job.proxy_url}/bob${i}`, { ...call('Plan for user Bob.'), mipro: { module: 'plan' } });
    const prompts = fake.requests.map((r) => (r.body as { messages: { role: string; content?: unknown }[] }).messages.find((m) => m.role === 'system')?.content ?? null);
    expect(prompts.slice(0, 3)).toEqual(['Plan for user Alice.', 'Plan for user Bob.', null]);
    expect(prompts.slice(3)).toEqual(Array(6).fill('Plan for user Bob.')); // never Alice's text or a child of it
    const view = await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key });
    expect(view.body.modules).toEqual([{ name: 'plan', template: 'Plan for user Alice.', origin: 'discovered' }]);
  });

  it('treats discovered texts as literal: braces are text and a similar text is another module', async () => {
    const job = await newJob({});
    await chat(job.proxy_url, call('First prompt {x}'));
    await chat(job.proxy_url, call('First prompt ANYTHING'));
    const view = await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key });
    expect(view.body.modules.map((m: { template: string }) => m.template)).toEqual(['First prompt {x}', 'First prompt ANYTHING']);
    expect(fake.requests.map(systemPromptOf)).toEqual(['First prompt {x}', 'First prompt ANYTHING']);
    // Export says the same: no placeholder in a literal text, no DSPy input field nobody supplies.
    const exported = await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=json`, { key: t.key });
    expect(exported.body.modules.map((m: { placeholders: string[] }) => m.placeholders)).toEqual([[], []]);
    const dspy = await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=dspy`, { key: t.key });
    const predictors = Object.entries(dspy.body).filter(([name]) => name !== 'metadata') as [string, { signature: { instructions: string; fields: unknown[] } }][];
    expect(predictors.map(([, p]) => [p.signature.instructions, p.signature.fields])).toEqual([['First prompt {x}', []], ['First prompt ANYTHING', []]]);
  });

  it('gives a call without a system message to a module declared with an empty template', async () => {
    const job = await newJob({ modules: [...MODULES, { name: 'chat', template: '' }] }, { online_rollouts_per_candidate: 1 });
    await addProgram(t.server.store, job.job_id, 'cand_chat', { chat: 'Be kind.' }, 'chat');
    await new Promise((r) => setTimeout(r, 50));
    const served = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const res = await chat(`${job.proxy_url}/e${i}`, { model: 'x', messages: [{ role: 'user', content: 'hi' }] });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-mipro-candidate-id')!;
      served.add(id);
      const sent = (fake.requests.at(-1)!.body as { messages: unknown[] }).messages;
      // The baseline sends the call as the app wrote it; the candidate adds its text as the system message.
      expect(sent).toEqual(id === 'cand_chat' ? [{ role: 'system', content: 'Be kind.' }, { role: 'user', content: 'hi' }] : [{ role: 'user', content: 'hi' }]);
    }
    expect(served).toEqual(new Set(['baseline', 'cand_chat']));
    await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, ['e0'])).length === 1);
    expect((await t.server.store.rolloutCalls(job.job_id, ['e0']))[0]?.module).toBe('chat');
    // The export's messages are what the proxy puts before the conversation: no system message for the baseline's empty text.
    const exported = async (candidate: string) =>
      (await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=messages&candidate_id=${candidate}`, { key: t.key })).body.modules.chat;
    expect(await exported('baseline')).toEqual([]);
    expect(await exported('cand_chat')).toEqual([{ role: 'system', content: 'Be kind.' }]);
  });

  it('refuses reserved module names and serves placeholders named like object properties', async () => {
    const reserved = seedJobBody();
    Object.assign(reserved.policy_optimization, { modules: [{ name: 'constructor', template: 'x' }, { name: 'b', template: 'x\u0000y' }] });
    const refused = await api(t.url, 'POST', JOBS, { key: t.key, body: reserved });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details).toEqual(expect.arrayContaining([
      { path: 'policy_optimization.modules.0.name', message: expect.stringMatching(/must not be "constructor" or "__proto__"/) },
      { path: 'policy_optimization.modules.1.template', message: expect.stringMatching(/NUL/) },
    ]));

    const job = await newJob({ modules: [...MODULES, { name: 'greet', template: 'Hi {constructor} and {toString}, bye.' }] });
    const byHeader = await chat(`${job.proxy_url}/h1`, call('x'), { 'x-mipro-module': 'constructor' });
    expect(byHeader.status).toBe(422);
    expect(byHeader.body.error).toMatchObject({ param: 'x-mipro-module', message: expect.stringMatching(/must not be "constructor"/) });
    const inBody = await chat(`${job.proxy_url}/h2`, { ...call('x'), mipro: { module: '__proto__' } });
    expect(inBody.status).toBe(422);
    expect(inBody.body.error.param).toBe('mipro.module');
    // A valid JSON body with a __proto__ key: a 422 at that key, not "not valid JSON".
    const protoKey = await api(`${job.proxy_url}/h3`, 'POST', '/chat/completions', {
      rawBody: '{"model":"x","messages":[{"role":"system","content":"Hi A and B, bye."}],"mipro":{"variables":{"__proto__":"p"}}}',
    });
    expect(protoKey.status).toBe(422);
    expect(protoKey.body.error.param).toBe('mipro.variables.__proto__');
    // Inherited members are no values: the variables are missing, and nothing goes upstream.
    const missing = await chat(`${job.proxy_url}/h4`, call('Not the greeting'), { 'x-mipro-module': 'greet' });
    expect(missing.status).toBe(422);
    expect(missing.body.error.param).toBe('mipro.variables.constructor');
    expect(missing.body.error.message).toMatch(/mipro\.variables\.toString: has no value/);
    expect(fake.requests).toHaveLength(0);
    const matched = await chat(`${job.proxy_url}/h5`, call('Hi A and B, bye.'));
    expect(matched.status).toBe(200);
    await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, ['h5'])).length === 1);
    expect((await t.server.store.rolloutCalls(job.job_id, ['h5']))[0]).toMatchObject({ module: 'greet', variables: { constructor: 'A', toString: 'B' } });
    for (const id of ['h1', 'h2', 'h3', 'h4']) expect(await t.server.store.getRollout(job.job_id, id)).toBeNull();
  });

  it('gives a call without a system message to no module of a multi-module program, even a bare {x} template', async () => {
    const job = await newJob({ modules: [...MODULES, { name: 'bare', template: '{x}' }] });
    const res = await chat(`${job.proxy_url}/nosys`, { model: 'x', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
    expect((fake.requests.at(-1)!.body as { messages: unknown[] }).messages).toEqual([{ role: 'user', content: 'hi' }]);
    await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, ['nosys'])).length === 1);
    expect((await t.server.store.rolloutCalls(job.job_id, ['nosys']))[0]?.module).toBeNull();
  });

  it('sends the app\'s own messages unchanged (key order, content parts) when the serving candidate keeps the module', async () => {
    const job = await newJob({ modules: MODULES });
    const raw = '{"messages":[{"content":[{"text":"Extract the entities from the question.","type":"text","cache_control":{"type":"ephemeral"}}],"role":"system"},{"content":"q","role":"user"}],"model":"x"}';
    const res = await api(`${job.proxy_url}/parts`, 'POST', '/chat/completions', { rawBody: raw });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-mipro-candidate-id')).toBe('baseline');
    const sent = fake.requests.at(-1)!.rawBody;
    expect(sent).toContain('"messages":[{"content":[{"text":"Extract the entities from the question.","type":"text","cache_control":{"type":"ephemeral"}}],"role":"system"},{"content":"q","role":"user"}]');
    await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, ['parts'])).length === 1);
    expect((await t.server.store.rolloutCalls(job.job_id, ['parts']))[0]?.module).toBe('extract');
  });

  it('shows programs in the views: modules, best_program, instructions and the changed module', async () => {
    const job = await newJob({ modules: MODULES });
    await addProgram(t.server.store, job.job_id, 'cand_a', { answer: 'Better answer from:\n{context}' }, 'answer');
    const view = await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key });
    expect(view.body.modules).toEqual(MODULES.map((m) => ({ ...m, origin: 'declared' })));
    expect(view.body.best_program).toEqual(Object.fromEntries(MODULES.map((m) => [m.name, m.template])));
    const cand = view.body.candidates.find((c: { candidate_id: string }) => c.candidate_id === 'cand_a');
    expect(cand).toMatchObject({ module: 'answer', instruction: 'Better answer from:\n{context}' });
    expect(cand.instructions).toEqual({ extract: MODULES[0]!.template, retrieve: MODULES[1]!.template, answer: 'Better answer from:\n{context}' });
    expect(view.body.candidates[0]).toMatchObject({ candidate_id: 'baseline', module: null, changed_modules: [] });
  });

  it('gives best_prompt the same meaning in the older state dict as in the job view: the first module\'s text', async () => {
    const job = await newJob({ modules: MODULES }, { online_rollouts_per_candidate: 2 });
    await addProgram(t.server.store, job.job_id, 'cand_a', { answer: 'Better answer from:\n{context}' }, 'answer');
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 6; i++) {
      for (const [candidate, score] of [['cand_a', 1], ['baseline', 0]] as const) {
        const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `${candidate}-${i}`, candidate_id: candidate, reward_info: { score } } });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
    }
    const view = (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    expect([view.best_candidate_id, view.best_prompt]).toEqual(['cand_a', MODULES[0]!.template]);
    const state = (await api(t.url, 'GET', `/api/prompt-learning/online/mipro/systems/${job.system_id}/state`, { key: t.key })).body;
    expect([state.best_candidate_id, state.best_prompt]).toEqual(['cand_a', MODULES[0]!.template]);
  });

  it('reports a stray key of a module declaration once, with the known fields', async () => {
    const body = seedJobBody();
    Object.assign(body.policy_optimization, { modules: [{ name: 'a', template: 'x', foo: 1 }] });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'policy_optimization.modules.0.foo', message: 'unknown field; known fields here: name, template' }]);
  });

  it('takes an override of one module\'s template by its index in the list', async () => {
    const body = seedJobBody();
    Object.assign(body.policy_optimization, { modules: MODULES });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: { config_body: body, overrides: { 'policy_optimization.modules.1.template': 'Search for: {topic}' } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const view = await api(t.url, 'GET', `${JOBS}/${res.body.job_id}`, { key: t.key });
    expect(view.body.modules.map((m: { template: string }) => m.template)).toEqual([MODULES[0]!.template, 'Search for: {topic}', MODULES[2]!.template]);
  });

  it('refuses bad module declarations with every problem at its path', async () => {
    const body = seedJobBody();
    Object.assign(body.policy_optimization, {
      modules: [{ name: 'Bad Name', template: 'x' }, { name: 'a', template: '{x}{y}' }, { name: 'a', template: 'ok' }],
      initial_prompt: { messages: [{ role: 'system', pattern: 'p' }] },
    });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(422);
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining([
      'policy_optimization.modules.0.name', 'policy_optimization.modules.1.template', 'policy_optimization.modules.2.name', 'policy_optimization.initial_prompt',
    ]));
    // A duplicate name is listed even beside a module whose template is not a string at all.
    const typed = seedJobBody();
    Object.assign(typed.policy_optimization, { modules: [{ name: 'a', template: 'x' }, { name: 'a', template: 'y' }, { name: 'b', template: 7 }] });
    const both = await api(t.url, 'POST', JOBS, { key: t.key, body: typed });
    expect(both.status).toBe(422);
    expect(both.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['policy_optimization.modules.1.name', 'policy_optimization.modules.2.template']);
  });
});
