import { describe, expect, it } from 'vitest';
import { renderTemplate, parseTemplate } from '../../src/optimizer/core/templates.js';
import { type FakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { startFakeUpstreamServer, useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, addModuleCandidates, api, seedJobBody } from '../helpers/server.js';
import type { Demo } from '../../src/optimizer/core/demos.js';
import { addProgram } from '../helpers/programs.js';
import { exportedProgram } from '../../src/sdk/wire.js';

const JOBS = '/api/policy-optimization/online/jobs';
const MODULES = [
  { name: 'extract', template: 'Extract the entities.' },
  { name: 'answer', template: 'Answer from this context:\n{context}\nfor {user}.' },
];

/**
 * After a job ends (SPEC.md, "After a job ends"): the proxy URL keeps serving (the champion, or the
 * baseline after a cancel), rewards become monitoring, promote picks what is served, and export gives
 * the program exactly as the proxy renders it. On SQLite and PostgreSQL.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('after the job ends (%s)', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, start: { cacheTtlMs: 20 }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));

  async function newJob(mipro: Record<string, unknown> = {}) {
    const body = seedJobBody({ mipro: { online_rollouts_per_candidate: 2, ...mipro } });
    Object.assign(body.policy_optimization, { modules: MODULES });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { job_id: string; system_id: string; proxy_url: string };
  }
  const answerCall = (context: string) => ({ model: 'x', messages: [{ role: 'system', content: `Answer from this context:\n${context}\nfor Ada.` }, { role: 'user', content: 'q' }] });
  const chat = (job: { proxy_url: string }, rollout: string, body: unknown) => api(`${job.proxy_url}/${rollout}`, 'POST', '/chat/completions', { body });
  const reward = (job: { system_id: string }, rollout: string, score: number) =>
    api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: rollout, reward_info: { score } } });
  const view = async (job: { job_id: string }) => (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
  async function addModuleCandidatesWithDemos(jobId: string, id: string, answer: string, demos: Demo[]) {
    await addModuleCandidates(t.server.store, jobId, 'answer', { [id]: answer }, { [id]: demos });
  }

  it('keeps serving the champion after max_rollouts, as monitoring that never moves the statistics', async () => {
    const job = await newJob({ max_rollouts: 12 });
    await addProgram(t.server.store, job.job_id, 'cand_win', { answer: 'WIN: {context} / {user}' }, 'answer');
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 12; i++) {
      const res = await chat(job, `r${i}`, answerCall(`c${i}`));
      await reward(job, `r${i}`, res.headers.get('x-mipro-candidate-id') === 'cand_win' ? 1 : 0);
    }
    const ended = await view(job);
    expect(ended.status).toBe('succeeded');
    expect(ended.served_candidate_id).toBe('cand_win');
    const stats = ended.candidates.map((c: { candidate_id: string; reward_count: number; avg_reward: number }) => [c.candidate_id, c.reward_count, c.avg_reward]);
    for (let i = 0; i < 5; i++) {
      const res = await chat(job, `after${i}`, answerCall('late'));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-mipro-candidate-id')).toBe('cand_win');
      expect(systemPromptOf(fake.requests.at(-1)!)).toBe('WIN: late / Ada');
      expect((await reward(job, `after${i}`, 0)).status).toBe(200);
    }
    const later = await view(job);
    expect(later.candidates.map((c: { candidate_id: string; reward_count: number; avg_reward: number }) => [c.candidate_id, c.reward_count, c.avg_reward])).toEqual(stats);
    expect(later.reward_count).toBe(ended.reward_count);
    expect(later.proposal_seq).toBe(ended.proposal_seq);
    const monitor = await api(t.url, 'GET', `/api/systems/${job.system_id}/seed-evals?split=monitor`, { key: t.key });
    expect(monitor.status).toBe(200);
    const rewards = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/rewards?limit=100`, { key: t.key });
    expect(rewards.body.items.filter((r: { split: string }) => r.split === 'monitor')).toHaveLength(5);
    expect((await t.server.store.getRollout(job.job_id, 'after0'))?.split).toBe('monitor');
  });

  it('counts exactly max_rollouts training rewards when many arrive at once; the rest are monitoring', async () => {
    const job = await newJob({ max_rollouts: 12 });
    for (let i = 0; i < 30; i++) expect((await chat(job, `burst${i}`, answerCall(`c${i}`))).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => reward(job, `burst${i}`, i % 2)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Each answer says where its reward went: 12 counted, the rest monitoring.
    expect(answers.filter((a) => a.body.split === 'online')).toHaveLength(12);
    const ended = await view(job);
    expect([ended.status, ended.reward_count]).toEqual(['succeeded', 12]);
    const rewards = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/rewards?limit=100`, { key: t.key });
    expect(rewards.body.items.filter((r: { split: string }) => r.split === 'monitor')).toHaveLength(18);
  });

  it('serves the baseline after a cancel, and promote picks what is served (a rollback included)', async () => {
    const job = await newJob();
    await addProgram(t.server.store, job.job_id, 'cand_p', { extract: 'EXTRACT WELL.' }, 'extract');
    const cancelled = await api(t.url, 'POST', `${JOBS}/${job.job_id}/cancel`, { key: t.key });
    expect(cancelled.body.served_candidate_id).toBe('baseline');
    const extractCall = { model: 'x', messages: [{ role: 'system', content: 'Extract the entities.' }, { role: 'user', content: 'q' }] };
    for (let i = 0; i < 3; i++) expect((await chat(job, `c${i}`, extractCall)).headers.get('x-mipro-candidate-id')).toBe('baseline');
    const refused = await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_p' } });
    expect(refused.status).toBe(409);

    const running = await newJob();
    await addProgram(t.server.store, running.job_id, 'cand_q', { extract: 'EXTRACT BETTER.' }, 'extract');
    const unknown = await api(t.url, 'POST', `${JOBS}/${running.job_id}/promote`, { key: t.key, body: { candidate_id: 'nope' } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details[0].path).toBe('candidate_id');
    const promote = (body: unknown) => api(t.url, 'POST', `${JOBS}/${running.job_id}/promote`, { key: t.key, body });
    const badType = await promote({ candidate_id: 5 });
    expect([badType.status, badType.body.error.details]).toEqual([422, [{ path: 'candidate_id', message: 'must be a string (the candidate to serve)' }]]);
    const extra = await promote({ candidate_id: 'cand_q', pin: true });
    expect([extra.status, extra.body.error.details[0].path]).toEqual([422, 'pin']);
    // Every bad field at once: an unknown candidate beside another problem is listed too, not after the resend.
    const both = await promote({ candidate_id: 'nope', pin: true });
    expect([both.status, both.body.error.details]).toEqual([422, [{ path: 'pin', message: 'unknown field' }, { path: 'candidate_id', message: 'no candidate with this id in this job' }]]);
    expect((await view(running)).status).toBe('running'); // neither refused body promoted anything
    const promoted = await api(t.url, 'POST', `${JOBS}/${running.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_q' } });
    expect(promoted.body).toMatchObject({ status: 'succeeded', served_candidate_id: 'cand_q' });
    await chat(running, 'p1', extractCall);
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('EXTRACT BETTER.');
    const rollback = await api(t.url, 'POST', `/api/v1/online/sessions/${running.system_id}/promote`, { key: t.key, body: { candidate_id: 'baseline' } });
    expect(rollback.body).toMatchObject({ status: 'succeeded', served_candidate_id: 'baseline' });
    await new Promise((r) => setTimeout(r, 50));
    await chat(running, 'p2', extractCall);
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('Extract the entities.');
    const events = await api(t.url, 'GET', `/api/v1/online/sessions/${running.system_id}/events?limit=100`, { key: t.key });
    expect(events.body.events.filter((e: { event_type: string }) => e.event_type === 'mipro.candidate.promoted')).toHaveLength(2);
    // The promote that ended the running job is a status change like every end; the rollback is not.
    const statuses = events.body.events.filter((e: { event_type: string }) => e.event_type === 'mipro.job.status').map((e: { data: unknown }) => e.data);
    expect(statuses).toEqual([
      { status: 'running' },
      { status: 'succeeded', previous: 'running', at: expect.any(String), served_candidate_id: 'cand_q', reason: 'cand_q promoted' },
    ]);
  });

  it("keeps an app's scheduler loop going after the end: monitoring rollouts of what the job serves", async () => {
    const job = await newJob();
    await addProgram(t.server.store, job.job_id, 'cand_w', { extract: 'EXTRACT WINNER.' }, 'extract');
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_w' } })).status).toBe(200);
    const next = (body?: unknown) => api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: t.key, ...(body ? { body } : {}) });
    const pool = seedJobBody().policy_optimization.mipro.online_pool as number[];
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await next();
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ split: 'monitor', candidate_id: 'cand_w' });
      seen.push(r.body.seed);
      const extractCall = { model: 'x', messages: [{ role: 'system', content: 'Extract the entities.' }, { role: 'user', content: 'q' }] };
      const called = await api(r.body.inference_url, 'POST', '/chat/completions', { body: extractCall });
      expect(called.headers.get('x-mipro-candidate-id')).toBe('cand_w');
      expect(systemPromptOf(fake.requests.at(-1)!)).toBe('EXTRACT WINNER.');
      const rewarded = await reward(job, r.body.rollout_id, 1);
      expect(rewarded.body).toMatchObject({ split: 'monitor', candidate_id: 'cand_w' });
    }
    // The online pool's seeds in turn; the statistics the job ended on do not move.
    expect(seen).toEqual(pool.slice(0, 3));
    const ended = await view(job);
    expect(ended).toMatchObject({ status: 'succeeded', reward_count: 0 });
    // Confirmation work ends with the job: said, not scheduled.
    const val = await next({ split: 'val' });
    expect([val.status, val.body.error.message]).toEqual([409, `job ${job.job_id} is succeeded: no confirmation work is left after the end`]);
  });

  it('schedules a monitoring rollout, not a training one, when the job ends between the scheduler\'s read and its insert', async () => {
    const job = await newJob();
    const store = t.server.store;
    const original = store.rolloutSplitCounts;
    let ended = false;
    // The end lands after the request read the job as running (as another instance's cancel would).
    (store as unknown as Record<string, unknown>).rolloutSplitCounts = async (jobId: string) => {
      if (!ended) {
        ended = true;
        await store.transitionJob(job.job_id, ['running'], 'cancelled', { eventType: 'mipro.job.status', message: 'cancelled elsewhere' });
      }
      return original.call(store, jobId);
    };
    try {
      const r = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: t.key });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ split: 'monitor', candidate_id: 'baseline' });
      expect(await store.rolloutSplitCounts(job.job_id)).toEqual({ bootstrap: 0, online: 0, val: 0, monitor: 1 });
    } finally {
      delete (store as unknown as Record<string, unknown>).rolloutSplitCounts;
    }
  });

  it('exports a program exactly as the proxy renders it', async () => {
    const job = await newJob();
    await addProgram(t.server.store, job.job_id, 'cand_x', { answer: 'Use only {context}, answering {user} kindly.' }, 'answer');
    await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_x' } });
    await new Promise((r) => setTimeout(r, 50));
    const context = 'Line one.\nLine {two} with "quotes" and ünïcode.';
    await chat(job, 'e1', { model: 'x', messages: [{ role: 'system', content: `Answer from this context:\n${context}\nfor Grace.` }, { role: 'user', content: 'q' }] });
    const viaProxy = systemPromptOf(fake.requests.at(-1)!);

    const exported = await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=json`, { key: t.key });
    expect(exported.body).toMatchObject({ candidate_id: 'cand_x', served: true, format: 'json', policy: { model: 'gpt-4o-mini' } });
    const answer = exported.body.modules.find((m: { name: string }) => m.name === 'answer');
    expect(answer).toMatchObject({ changed: true, placeholders: ['context', 'user'], baseline_template: MODULES[1]!.template });
    const rendered = renderTemplate(parseTemplate(answer.template), { context, user: 'Grace' });
    expect('text' in rendered && Buffer.from(rendered.text).equals(Buffer.from(viaProxy))).toBe(true);

    const messages = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/export?format=messages&candidate_id=baseline`, { key: t.key });
    expect(messages.body).toMatchObject({ candidate_id: 'baseline', served: false, modules: { extract: [{ role: 'system', content: 'Extract the entities.' }] } });
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=yaml`, { key: t.key })).status).toBe(422);
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?candidate_id=nope`, { key: t.key })).status).toBe(404);
  });

  it('adds the user\'s own prompts as candidates (warm start) that get traffic, under the proposals\' rules', async () => {
    const job = await newJob({ online_proposer_max_candidates: 3, online_rollouts_per_candidate: 1 });
    const add = (body: unknown) => api(t.url, 'POST', `/api/systems/${job.system_id}/candidates`, { key: t.key, body });
    const added = await add({ module: 'answer', instruction: 'My own: {context} for {user}.' });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body).toMatchObject({ module: 'answer', changed_modules: ['answer'], parent_id: 'baseline', status: 'active' });
    expect(added.body.instructions).toEqual({ extract: MODULES[0]!.template, answer: 'My own: {context} for {user}.' });
    const problems = await Promise.all([
      add({ instruction: 'x' }), // two modules: say which
      add({ module: 'nope', instruction: 'x' }),
      add({ module: 'answer', instruction: 'Drops a placeholder: {context}' }),
      add({ module: 'answer', instruction: 'Adds one: {context} {user} {extra}' }),
      add({ module: 'answer', instruction: 'My own: {context} for {user}.' }), // a duplicate
      add({ module: 'answer', instruction: 5 }),
      add({ module: 'answer', instruction: 'With demos: {context} {user}', demos: [] }), // not an import of a whole candidate
    ]);
    expect(problems.map((r) => [r.status, r.body.error.details[0].path])).toEqual([
      ...Array(5).fill(null).map((_, i) => [422, i < 2 ? 'module' : 'instruction']), [422, 'instruction'], [422, 'demos'],
    ]);
    expect(problems[5]!.body.error.details[0].message).toBe('must be a string (the instruction text)');
    expect(problems[4]!.body.error.details[0].message).toBe(`duplicate of an existing instruction: candidate ${added.body.candidate_id}'s text for module answer`);
    expect(problems[0]!.body.error.message).toBe('say which module the instruction is for');
    expect(problems[1]!.body.error.message).toBe('unknown module "nope"');
    // Every bad field at once: the unknown module beside a schema problem, and the module names of a program and of demos.
    const listed = async (body: unknown) => (await add(body)).body.error.details.map((d: { path: string }) => d.path);
    expect(await listed({ module: 'nope', instruction: 5 })).toEqual(['instruction', 'module']);
    expect(await listed({ instructions: { nope: 'x' }, demos: { gone: [] }, pin: 1 })).toEqual(['pin', 'instructions.nope', 'demos.gone']);
    expect((await add({ module: 'extract', instruction: 'My extraction.' })).status).toBe(200);
    const full = await add({ module: 'extract', instruction: 'One too many.' });
    expect(full.status).toBe(409); // baseline + 2 added = online_proposer_max_candidates
    // A body that is wrong anyway says why, full job or not.
    const wrong = await add({ module: 'nope', instruction: 'x' });
    expect([wrong.status, wrong.body.error.details[0].path]).toEqual([422, 'module']);
    await new Promise((r) => setTimeout(r, 50));
    const served = new Set<string>();
    for (let i = 0; i < 9; i++) served.add((await chat(job, `w${i}`, answerCall('ctx'))).headers.get('x-mipro-candidate-id') ?? '');
    expect(served).toEqual(new Set(['baseline', added.body.candidate_id, expect.any(String)]));
    expect(served.size).toBe(3);
    const events = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=100`, { key: t.key });
    expect(events.body.events.filter((e: { event_type: string }) => e.event_type === 'mipro.candidate.added')).toHaveLength(2);
  });
  it('imports a whole program (instructions: {module: text}) exported by another job, and serves it as exported', async () => {
    const first = await newJob();
    await addProgram(t.server.store, first.job_id, 'cand_best', { extract: 'Extract every entity.', answer: 'Answer {user} from:\n{context}' }, 'answer');
    const exported = (await api(t.url, 'GET', `${JOBS}/${first.job_id}/export?format=json&candidate_id=cand_best`, { key: t.key })).body;
    const program = Object.fromEntries(exported.modules.map((m: { name: string; template: string }) => [m.name, m.template]));

    const next = await newJob({ online_rollouts_per_candidate: 1 });
    const add = (body: unknown) => api(t.url, 'POST', `/api/systems/${next.system_id}/candidates`, { key: t.key, body });
    const added = await add({ instructions: program });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body).toMatchObject({ module: null, changed_modules: ['extract', 'answer'], parent_id: 'baseline', instructions: program });
    const refusals = await Promise.all([
      add({ instructions: program }), // the same program again
      add({ instructions: { extract: MODULES[0]!.template } }), // the baseline program
      add({ instructions: { answer: 'Drops the placeholders.' } }),
      add({ instructions: { nope: 'x' } }),
      add({ instruction: 'x', instructions: program }),
      add({ module: 'answer', instructions: program }),
    ]);
    expect(refusals.map((r) => [r.status, r.body.error.details[0].path])).toEqual([
      [422, 'instructions'], [422, 'instructions'], [422, 'instructions.answer'], [422, 'instructions.nope'], [422, 'instructions'], [422, 'module'],
    ]);
    expect(refusals[0]!.body.error.details[0].message).toBe(`is the program of candidate ${added.body.candidate_id}`);
    // Both forms sent, one of them refused on its type: the conflict is listed beside it (SPEC.md: every bad field).
    const mixed = await add({ instruction: 5, instructions: program });
    expect([mixed.status, mixed.body.error.details.map((d: { path: string }) => d.path)]).toEqual([422, ['instruction', 'instructions']]);
    // Every bad module of a program is listed at once, not only the first.
    const several = await add({ instructions: { extract: '', answer: 'Drops the placeholders.', nope: 'x' } });
    expect([several.status, several.body.error.message, several.body.error.details.map((d: { path: string }) => d.path)]).toEqual([
      422, 'instruction refused: empty (and 2 more)', ['instructions.extract', 'instructions.answer', 'instructions.nope'],
    ]);
    // A module whose text differs from the baseline's only in case, punctuation or spacing is unchanged
    // (another job's untouched template may differ so): the program changes the other module.
    const nearCopy = await add({ instructions: { extract: 'extract the entities ', answer: 'Answer {user}, from:\n{context}' } });
    expect(nearCopy.status, JSON.stringify(nearCopy.body)).toBe(200);
    expect(nearCopy.body).toMatchObject({ module: 'answer', changed_modules: ['answer'], instructions: { extract: MODULES[0]!.template } });
    // A near-copy of an existing program (case, punctuation and spacing aside) is that program.
    const again = await add({ instructions: { answer: 'ANSWER {user} from: {context}!' } });
    expect([again.status, again.body.error.details[0]]).toEqual([422, { path: 'instructions', message: `is the program of candidate ${nearCopy.body.candidate_id}` }]);
    // The same import sent several times at once (a client's retries) makes one candidate.
    const twice = await Promise.all(Array.from({ length: 6 }, () => add({ instructions: { extract: 'Extract all of it.' } })));
    expect(twice.map((r) => r.status).sort()).toEqual([200, 422, 422, 422, 422, 422]);
    const nul = await add({ instructions: { extract: 'a\u0000b' } });
    expect([nul.status, nul.body.error.details[0].path]).toEqual([422, 'instructions.extract']);
    // Served as exported: both modules' texts, the answer's rendered with the call's own variables.
    await new Promise((r) => setTimeout(r, 50));
    const texts = new Map<string, string[]>();
    for (let i = 0; i < 8; i++) {
      const rid = `imp${i}`;
      for (const body of [{ model: 'x', messages: [{ role: 'system', content: 'Extract the entities.' }, { role: 'user', content: 'q' }] }, answerCall('ctx')]) {
        const res = await chat(next, rid, body);
        const id = res.headers.get('x-mipro-candidate-id')!;
        texts.set(id, [...(texts.get(id) ?? []), systemPromptOf(fake.requests.at(-1)!)]);
      }
    }
    expect(texts.get(added.body.candidate_id)?.slice(0, 2)).toEqual(['Extract every entity.', 'Answer Ada from:\nctx']);
  });

  it('gives a whole program added by hand the text of its first changed module in program order as instruction, whatever the key order of the body', async () => {
    const job = await newJob();
    const add = (body: unknown) => api(t.url, 'POST', `/api/systems/${job.system_id}/candidates`, { key: t.key, body });
    // Keys in the reverse of the program's order: changed_modules lists extract first, so instruction is extract's text.
    const added = await add({ instructions: { answer: 'Reply for {user} from:\n{context}', extract: 'List the entities.' } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body).toMatchObject({ module: null, changed_modules: ['extract', 'answer'], instruction: 'List the entities.', prompt_text: 'List the entities.' });
    // With demos for a module placed before the changed one, the changed module's text stays the instruction.
    const demo = { input: [{ role: 'user', content: 'Who?' }], output: 'Ada.', variables: { context: 'c', user: 'u' } };
    const mixed = await add({ instructions: { answer: 'Answer {user}, quoting:\n{context}' }, demos: { extract: [{ input: [{ role: 'user', content: 'Who?' }], output: 'Ada' }], answer: [demo] } });
    expect(mixed.status, JSON.stringify(mixed.body)).toBe(200);
    expect(mixed.body).toMatchObject({ module: null, changed_modules: ['extract', 'answer'], instruction: 'Answer {user}, quoting:\n{context}' });
  });

  it('exports in json only demos a job can import: an older release\'s (an empty turn, an input not ending on a user turn) are listed as left out, and the program imports', async () => {
    const first = await newJob();
    // Stored as releases before today's demo rules collected them.
    const good: Demo = { input: [{ role: 'user', content: 'Paris is in France.' }], output: 'Paris; France', rolloutId: 'r_good' };
    const emptyTurn: Demo = { input: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '' }, { role: 'user', content: 'Rome is in Italy.' }], output: 'Rome; Italy', rolloutId: 'r_empty' };
    const prefilled: Demo = { input: [{ role: 'user', content: 'Oslo is in Norway.' }, { role: 'assistant', content: 'Entities:' }], output: ' Oslo; Norway', rolloutId: 'r_prefill' };
    await addModuleCandidates(t.server.store, first.job_id, 'extract', { cand_old_demos: 'Extract every entity.' }, { cand_old_demos: [good, emptyTurn, prefilled] });
    const exported = (await api(t.url, 'GET', `${JOBS}/${first.job_id}/export?format=json&candidate_id=cand_old_demos`, { key: t.key })).body;
    const extract = exported.modules.find((m: { name: string }) => m.name === 'extract');
    expect(extract.demos).toEqual([{ input: good.input, output: good.output, rollout_id: 'r_good' }]);
    expect(extract.demos_left_out).toEqual([
      { index: 1, rollout_id: 'r_empty', reason: 'must not hold an empty turn' },
      { index: 2, rollout_id: 'r_prefill', reason: 'must end its input on a user turn (the demo\'s answer follows it)' },
    ]);
    expect(exported.modules.find((m: { name: string }) => m.name === 'answer')).not.toHaveProperty('demos_left_out');
    // What the proxy sends is unchanged: the messages export still renders all three.
    const messages = (await api(t.url, 'GET', `${JOBS}/${first.job_id}/export?format=messages&candidate_id=cand_old_demos`, { key: t.key })).body;
    expect(messages.modules.extract).toHaveLength(1 + 2 + 4 + 3);
    // Moved to a new job: the program imports, with the demos that could be.
    const next = await newJob({ max_demos: 4 });
    const target = (await api(t.url, 'GET', `${JOBS}/${next.job_id}`, { key: t.key })).body;
    const added = await api(t.url, 'POST', `/api/systems/${next.system_id}/candidates`, { key: t.key, body: exportedProgram(exported, target) });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.instructions.extract).toBe('Extract every entity.');
    expect(added.body.demos.extract.map((d: { input: unknown }) => d.input)).toEqual([good.input]);
  });

  it('imports a program with its demos (an exported program, or demos alone), and the proxy injects them', async () => {
    const first = await newJob();
    // A demo of the templated module carries the values its answer was written under, in template order.
    const demo: Demo = { input: [{ role: 'user', content: 'Who wrote Hamlet?' }], output: 'Shakespeare.', rolloutId: 'r_source', variables: { context: 'CTX-H', user: 'Bo' } };
    await addModuleCandidatesWithDemos(first.job_id, 'cand_demo', 'Answer {user} from:\n{context}', [demo]);
    const exported = (await api(t.url, 'GET', `${JOBS}/${first.job_id}/export?format=json&candidate_id=cand_demo`, { key: t.key })).body;
    expect(exported.modules.find((m: { name: string }) => m.name === 'answer').demos).toEqual([{ input: demo.input, output: demo.output, rollout_id: 'r_source', variables: demo.variables }]);
    const body = {
      instructions: Object.fromEntries(exported.modules.map((m: { name: string; template: string }) => [m.name, m.template])),
      demos: Object.fromEntries(exported.modules.filter((m: { demos: unknown[] }) => m.demos.length > 0).map((m: { name: string; demos: unknown[] }) => [m.name, m.demos])),
    };

    const next = await newJob({ online_rollouts_per_candidate: 1, max_demos: 2 });
    const add = (b: unknown) => api(t.url, 'POST', `/api/systems/${next.system_id}/candidates`, { key: t.key, body: b });
    const added = await add(body);
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body).toMatchObject({ module: 'answer', changed_modules: ['answer'], instructions: { answer: 'Answer {user} from:\n{context}' } });
    expect(added.body.demos.answer).toEqual([{ input: demo.input, output: demo.output, rollout_id: expect.stringMatching(/^import:[0-9a-f]{16}$/), variables: demo.variables }]);
    // Demos alone (the baseline's instructions with a demo set) are a program of their own.
    const demosOnly = await add({ demos: { extract: [{ input: [{ role: 'user', content: 'Paris is in France.' }], output: 'Paris; France' }] } });
    expect(demosOnly.status, JSON.stringify(demosOnly.body)).toBe(200);
    expect(demosOnly.body).toMatchObject({ module: 'extract', changed_modules: ['extract'], instructions: { extract: MODULES[0]!.template } });
    const turn = (content: string) => [{ role: 'user', content }];
    const refusals = await Promise.all([
      add(body), // the same program and demos again
      add({ demos: { answer: [] } }), // no demos: the baseline program
      add({ demos: { nope: [{ input: turn('q'), output: 'a' }] } }),
      add({ demos: { answer: [1, 2, 3].map((i) => ({ input: turn(`q${i}`), output: 'a' })) } }), // more than max_demos (2)
      add({ demos: { answer: [{ input: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], output: 'b' }] } }),
      add({ demos: { answer: [{ input: turn('x'.repeat(4001)), output: 'a' }] } }),
      add({ demos: { answer: [{ input: [{ role: 'system', content: 'q' }], output: 'a' }] } }),
      add({ demos: { answer: [{ input: turn('q'), output: '  ' }] } }),
      add({ demos: { answer: [{ input: [{ role: 'user', content: '' }], output: 'a' }] } }),
      add({ module: 'answer', demos: { answer: [{ input: turn('q'), output: 'a' }] } }),
    ]);
    expect(refusals.map((r) => [r.status, r.body.error?.details?.[0]?.path ?? JSON.stringify(r.body)])).toEqual([
      [422, 'instructions'], [422, 'demos'], [422, 'demos.nope'], [422, 'demos.answer'], [422, 'demos.answer.0'], [422, 'demos.answer.0.input'],
      [422, 'demos.answer.0.input.0.role'], [422, 'demos.answer.0'], [422, 'demos.answer.0'], [422, 'module'],
    ]);
    expect(refusals.slice(7, 9).map((r) => r.body.error.details[0].message)).toEqual(['must have an answer that is not empty', 'must not hold an empty turn']);
    const stray = await add({ demos: { answer: [{ input: turn('q'), output: 'a', foo: 1 }] } });
    expect([stray.status, stray.body.error.details]).toEqual([422, [{ path: 'demos.answer.0.foo', message: 'unknown field' }]]);
    const vars = { context: 'c', user: 'u' };
    // Sent in another order, the same values: kept in template order, so the same demo input.
    const twice = await add({ demos: { answer: [{ input: turn('q'), output: 'a', variables: vars }, { input: turn('q'), output: 'b', variables: { user: 'u', context: 'c' } }] } });
    expect([twice.status, twice.body.error.details]).toEqual([422, [{ path: 'demos.answer.1', message: 'repeats the input of demo 0 under the same variables' }]]);
    const plainTwice = await add({ demos: { extract: [{ input: turn('q'), output: 'a' }, { input: turn('q'), output: 'b' }] } });
    expect([plainTwice.status, plainTwice.body.error.details]).toEqual([422, [{ path: 'demos.extract.1', message: 'repeats the input of demo 0' }]]);
    // An app's greeting first: the demo would follow the previous demo's answer, or open the conversation (Anthropic refuses).
    const greeting = await add({ demos: { extract: [{ input: [{ role: 'assistant', content: 'Hi! How can I help?' }, { role: 'user', content: 'q' }], output: 'a' }] } });
    expect([greeting.status, greeting.body.error?.details]).toEqual([422, [{ path: 'demos.extract.0', message: 'must open its input on a user turn (it follows the system text or the previous demo\'s answer)' }]]);
    // Each demo within its bounds, the set past what every call may carry: refused as a whole.
    const roomy = await newJob({ online_rollouts_per_candidate: 1, max_demos: 4 });
    const big = (i: number) => ({ input: turn(`${i}`.padEnd(4000, 'q')), output: 'a'.repeat(4000), variables: { context: 'c'.repeat(7000), user: 'u'.repeat(1000) } });
    const tooMuch = await api(t.url, 'POST', `/api/systems/${roomy.system_id}/candidates`, { key: t.key, body: { demos: { answer: [big(1), big(2), big(3)] } } });
    expect([tooMuch.status, tooMuch.body.error.details]).toEqual([422, [{ path: 'demos.answer', message: 'holds 48000 characters of demos (inputs, answers and variables): at most 32000, since every call of the candidate carries them' }]]);
    expect((await api(t.url, 'POST', `/api/systems/${roomy.system_id}/candidates`, { key: t.key, body: { demos: { answer: [big(1), big(2)] } } })).status).toBe(200);
    // A templated module's demo names exactly the template's placeholders; a plain module's names none.
    const placeholders = 'module "answer"\'s placeholders: {context}, {user}';
    const variableRefusals = await Promise.all([
      add({ demos: { answer: [{ input: turn('q'), output: 'a' }] } }),
      add({ demos: { answer: [{ input: turn('q'), output: 'a', variables: { context: 'c' } }] } }),
      add({ demos: { answer: [{ input: turn('q'), output: 'a', variables: { ...vars, contxt: 'typo' } }] } }),
      add({ demos: { answer: [{ input: turn('q'), output: 'a', variables: { context: 'x'.repeat(7000), user: 'y'.repeat(1001) } }] } }),
      add({ demos: { answer: [{ input: turn('q'), output: 'a', variables: { ...vars, user: 7 } }] } }),
      add({ demos: { extract: [{ input: turn('q'), output: 'a', variables: { context: 'c' } }] } }),
    ]);
    expect(variableRefusals.map((r) => [r.status, r.body.error?.details])).toEqual([
      [422, [{ path: 'demos.answer.0.variables', message: `is required: ${placeholders}; a demo carries the values its answer was written under, or it would be shown under another call's (an export from before demos carried them: import its instructions alone, add-candidate --program FILE --no-demos)` }]],
      [422, [{ path: 'demos.answer.0.variables.user', message: `is required: every placeholder of the module's template needs its value (${placeholders})` }]],
      [422, [{ path: 'demos.answer.0.variables.contxt', message: `is not a placeholder of the module's template (${placeholders})` }]],
      [422, [{ path: 'demos.answer.0.variables', message: 'must keep its variables within 8000 characters in all (these hold 8001)' }]],
      [422, [{ path: 'demos.answer.0.variables.user', message: 'must be a string' }]],
      [422, [{ path: 'demos.extract.0.variables.context', message: 'is not a placeholder of the module\'s template (module "extract"\'s placeholders: none)' }]],
    ]);
    // The event names what a hand-added program changed; the export marks a module changed by its demos alone.
    const events = (await api(t.url, 'GET', `/api/v1/online/sessions/${next.system_id}/events?limit=100`, { key: t.key })).body.events as Array<{ event_type: string; data: { candidate_id: string; changed_modules: string[] } }>;
    expect(events.filter((e) => e.event_type === 'mipro.candidate.added').map((e) => [e.data.candidate_id, e.data.changed_modules]))
      .toEqual([[added.body.candidate_id, ['answer']], [demosOnly.body.candidate_id, ['extract']]]);
    const exportedDemosOnly = (await api(t.url, 'GET', `${JOBS}/${next.job_id}/export?format=json&candidate_id=${demosOnly.body.candidate_id}`, { key: t.key })).body;
    expect(exportedDemosOnly.modules.map((m: { name: string; changed: boolean }) => [m.name, m.changed])).toEqual([['extract', true], ['answer', false]]);
    // One module's baseline text beside demos for it: the demos make the program new.
    const besideDemos = await add({ module: 'extract', instruction: MODULES[0]!.template, demos: { extract: [{ input: turn('Rome?'), output: 'Rome; Italy' }] } });
    expect(besideDemos.status, JSON.stringify(besideDemos.body)).toBe(200);
    expect(besideDemos.body).toMatchObject({ module: 'extract', changed_modules: ['extract'] });
    expect(refusals[3]!.body.error.details[0].message).toBe("holds 3 demos: this job's mipro.max_demos is 2");
    // Served with its demos: the answer call gets the demo turns after its system text; extract none.
    await new Promise((r) => setTimeout(r, 50));
    let seen = false;
    for (let i = 0; i < 12 && !seen; i++) {
      const rid = `dem${i}`;
      const extract = await chat(next, rid, { model: 'x', messages: [{ role: 'system', content: 'Extract the entities.' }, { role: 'user', content: 'q' }] });
      const extractSent = (fake.requests.at(-1)!.body as { messages: unknown[] }).messages;
      const answer = await chat(next, rid, answerCall('ctx'));
      if (answer.headers.get('x-mipro-candidate-id') !== added.body.candidate_id) continue;
      seen = true;
      expect(extract.headers.get('x-mipro-candidate-id')).toBe(added.body.candidate_id);
      expect(extractSent).toHaveLength(2);
      expect((fake.requests.at(-1)!.body as { messages: unknown[] }).messages).toEqual([
        // The demo's own values head its user turn; the call's own are in the system text.
        { role: 'system', content: 'Answer Ada from:\nctx' }, { role: 'user', content: 'context:\nCTX-H\n\nuser:\nBo\n\nWho wrote Hamlet?' }, { role: 'assistant', content: demo.output }, { role: 'user', content: 'q' },
      ]);
    }
    expect(seen).toBe(true);
  });
});

describe('promote on an instance whose cache has not read the candidate yet', () => {
  it('serves the promoted candidate from the next call, not the baseline until the cache expires', async () => {
    // A cache that never expires during the test: only the promote can make it read the candidates.
    const { fake, t, close } = await startFakeUpstreamServer({ upstream: { reply: 'ok' }, start: { cacheTtlMs: 600_000 } });
    try {
      const body = seedJobBody();
      Object.assign(body.policy_optimization, { modules: MODULES });
      const job = (await api(t.url, 'POST', JOBS, { key: t.key, body })).body as { job_id: string; proxy_url: string };
      const extract = { model: 'x', messages: [{ role: 'system', content: 'Extract the entities.' }, { role: 'user', content: 'q' }] };
      const call = (rollout: string) => api(`${job.proxy_url}/${rollout}`, 'POST', '/chat/completions', { body: extract });
      expect((await call('before')).headers.get('x-mipro-candidate-id')).toBe('baseline'); // the runtime is cached now
      // Written by "another instance" (straight through the store): this instance's cache has not seen it.
      await addProgram(t.server.store, job.job_id, 'cand_late', { extract: 'EXTRACT LATE.' }, 'extract');
      const promoted = await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_late' } });
      expect(promoted.status).toBe(200);
      const after = await call('after');
      expect(after.headers.get('x-mipro-candidate-id')).toBe('cand_late');
      expect(systemPromptOf(fake.requests.at(-1)!)).toBe('EXTRACT LATE.');
    } finally {
      await close();
    }
  });
});

/**
 * The seed scheduler on an instance whose job cache never expires during the test: the end, pause or
 * rollback below is written by "another instance" (straight through the store). `fn` gets the job
 * (two programs, cand_w and cand_x, beside the baseline) and `next`, a POST .../rollouts.
 */
async function withStaleScheduler(db: TestDb, fn: (s: { t: TestServer; jobId: string; next: () => ReturnType<typeof api> }) => Promise<void>): Promise<void> {
  const { t, close } = await startFakeUpstreamServer({ db, upstream: { reply: 'ok' }, start: { cacheTtlMs: 600_000 } });
  try {
    const body = seedJobBody({ mipro: { online_rollouts_per_candidate: 50 } });
    Object.assign(body.policy_optimization, { modules: MODULES });
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body })).body as { job_id: string; system_id: string };
    await addProgram(t.server.store, job.job_id, 'cand_w', { extract: 'EXTRACT WINNER.' }, 'extract');
    await addProgram(t.server.store, job.job_id, 'cand_x', { extract: 'EXTRACT OTHER.' }, 'extract');
    await fn({ t, jobId: job.job_id, next: () => api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: t.key }) });
  } finally {
    await close();
  }
}

/** The split and candidate of the next `count` rollouts the scheduler hands out. */
async function handedOut(next: () => ReturnType<typeof api>, count: number): Promise<unknown[]> {
  const handed: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const r = await next();
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    handed.push([r.body.split, r.body.candidate_id]);
  }
  return handed;
}

describe('the seed scheduler on an instance whose cache has not seen a change made elsewhere yet', () => {
  it.each<TestDb>(['sqlite', 'postgres'])('an end: hands out monitoring rollouts of what the job serves, not the bandit\'s pick (%s)', (db) => withStaleScheduler(db, async ({ t, jobId, next }) => {
    // Cached while running, with the challengers: the bandit would go on choosing among them.
    expect((await next()).status).toBe(200);
    // Cancelled elsewhere: the job serves the baseline from now on.
    const ended = await t.server.store.transitionJob(jobId, ['running'], 'cancelled', { eventType: 'mipro.job.status', message: 'cancelled elsewhere', data: { status: 'cancelled' } });
    expect(ended?.status).toBe('cancelled');
    expect(await handedOut(next, 8)).toEqual(Array.from({ length: 8 }, () => ['monitor', 'baseline']));
  }));

  it.each<TestDb>(['sqlite', 'postgres'])('a pause: hands out rollouts of the best known candidate, not the bandit\'s pick (%s)', (db) => withStaleScheduler(db, async ({ t, jobId, next }) => {
    // Cached while running, with the challengers in the nursery: the bandit would go on choosing them.
    expect((await next()).status).toBe(200);
    const paused = await t.server.store.transitionJob(jobId, ['running'], 'paused', { eventType: 'mipro.job.status', message: 'paused elsewhere', data: { status: 'paused' } });
    expect(paused?.status).toBe('paused');
    const best = paused!.bestCandidateId ?? 'baseline';
    // docs/API.md, "Paused": every new rollout is served the best known candidate, on online seeds.
    expect(await handedOut(next, 6)).toEqual(Array.from({ length: 6 }, () => ['online', best]));
  }));

  it.each<TestDb>(['sqlite', 'postgres'])('a rollback: hands out monitoring rollouts of the candidate promoted last, not the one served before (%s)', (db) => withStaleScheduler(db, async ({ t, jobId, next }) => {
    const promoted = await t.server.store.transitionJob(jobId, ['running'], 'succeeded', { eventType: 'mipro.candidate.promoted', message: 'promoted elsewhere' }, 'cand_w', null);
    expect(promoted?.servedCandidateId).toBe('cand_w');
    expect((await next()).body).toMatchObject({ split: 'monitor', candidate_id: 'cand_w' }); // cached: the job serves cand_w
    // Rolled back elsewhere: the job serves the baseline from now on (docs/API.md, "Promote").
    const rolledBack = await t.server.store.transitionJob(jobId, ['succeeded'], 'succeeded', { eventType: 'mipro.candidate.promoted', message: 'rolled back elsewhere' }, 'baseline', 'cand_w');
    expect(rolledBack?.servedCandidateId).toBe('baseline');
    expect(await handedOut(next, 4)).toEqual(Array.from({ length: 4 }, () => ['monitor', 'baseline']));
  }));
});
