import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, addCandidates, api, pipelineJobBody, seedJobBody, simJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';

/** Edge cases of the write routes found by probing them over real HTTP, on both databases. */
describe.each(['sqlite', 'postgres'] as const)('write routes at their edges (%s)', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db });
  });
  afterAll(async () => {
    await t.close();
  });
  const createJob = async (body: unknown = simJobBody()) => (await api(t.url, 'POST', JOBS, { key: t.key, body })).body;

  it('names the value a reward of 1e400 was read as (Infinity), not null, and records nothing', async () => {
    const job = await createJob();
    for (const [path, raw] of [['reward_info.score', '{"reward_info":{"score":1e400}}'], ['reward_info.reward', '{"reward_info":{"reward":-1e400}}']] as const) {
      const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, rawBody: raw.replace('{', '{"candidate_id":"baseline",') });
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([{ path, message: `must be a finite number, got ${raw.includes('-') ? '-Infinity' : 'Infinity'}` }]);
    }
    const legacy = await api(t.url, 'POST', `/api/prompt-learning/online/mipro/systems/${job.system_id}/status`, { key: t.key, rawBody: '{"rollout_id":"r1","status":"reward","candidate_id":"baseline","reward":1e400}' });
    expect([legacy.status, legacy.body.error.details]).toEqual([422, [{ path: 'reward', message: 'must be a finite number, got Infinity' }]]);
    expect((await t.server.store.getJob(job.job_id))?.rewardCount).toBe(0);
  });

  it('refuses a hand-written candidate for a job cancelled while the request was checked (409), and adds nothing', async () => {
    const job = await createJob(pipelineJobBody());
    const store = t.server.store;
    const listCandidates = store.listCandidates;
    let cancelled = false;
    // The cancel lands after the route read the job (running) and before the candidate is written.
    store.listCandidates = async (jobId) => {
      if (!cancelled) {
        cancelled = true;
        expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/cancel`, { key: t.key })).status).toBe(200);
      }
      return listCandidates.call(store, jobId);
    };
    try {
      const res = await api(t.url, 'POST', `/api/systems/${job.system_id}/candidates`, { key: t.key, body: { module: 'extract', instruction: 'Extract every entity.' } });
      expect([res.status, res.body.error?.message]).toEqual([409, `job ${job.job_id} is cancelled: it takes no new candidates`]);
    } finally {
      store.listCandidates = listCandidates;
    }
    expect((await store.listCandidates(job.job_id)).map((c) => c.id)).toEqual(['baseline']);
    const events = (await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events`, { key: t.key })).body.events;
    expect(events.map((e: { event_type: string }) => e.event_type)).not.toContain('mipro.candidate.added');
  });

  it('refuses a max_rollouts PostgreSQL cannot compare rewards with (over 2^31 - 1), so no job takes only 500s', async () => {
    const over = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody({ max_rollouts: 2 ** 31 }) });
    expect([over.status, over.body.error?.details]).toEqual([422, [{ path: 'policy_optimization.mipro.max_rollouts', message: 'must be an integer between 1 and 2147483647' }]]);
    // The largest budget allowed takes rewards on both databases.
    const job = await createJob(simJobBody({ max_rollouts: 2 ** 31 - 1 }));
    const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { candidate_id: 'baseline', reward_info: { score: 1 } } });
    expect([res.status, res.body.split]).toEqual([200, 'online']);
    expect((await t.server.store.getJob(job.job_id))?.rewardCount).toBe(1);
  });

  it('refuses a job correlation_id holding a lone surrogate (the databases stored it differently), and creates nothing', async () => {
    const before = (await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length;
    for (const [path, body] of [['/api/v1/online/sessions', { config_body: simJobBody(), correlation_id: 'c\ud800d' }], [JOBS, { ...simJobBody(), correlation_id: 'c\udc00' }]] as const) {
      const res = await api(t.url, 'POST', path, { key: t.key, body });
      expect([res.status, res.body.error?.details]).toEqual([422, [{ path: 'correlation_id', message: expect.stringMatching(/lone UTF-16 surrogate/) }]]);
    }
    expect((await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length).toBe(before);
    const kept = await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: simJobBody(), correlation_id: 'c\u{1F600}d' } });
    expect([kept.status, kept.body.correlation_id]).toEqual([200, 'c\u{1F600}d']);
  });

  it('caps job and session metadata as reward metadata is (65,536 characters as JSON): a 422 on metadata, nothing created', async () => {
    const before = (await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length;
    const sized = (chars: number) => ({ note: 'x'.repeat(chars - '{"note":""}'.length) });
    expect(JSON.stringify(sized(65_536)).length).toBe(65_536);
    for (const [path, body] of [['/api/v1/online/sessions', { config_body: simJobBody(), metadata: sized(65_537) }], [JOBS, { ...simJobBody(), metadata: sized(65_537) }]] as const) {
      const res = await api(t.url, 'POST', path, { key: t.key, body });
      expect([res.status, res.body.error?.details]).toEqual([422, [{ path: 'metadata', message: 'must be at most 65536 characters as JSON' }]]);
    }
    expect((await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length).toBe(before);
    // At the limit it is taken, and kept whole.
    const kept = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...simJobBody(), metadata: sized(65_536) } });
    expect([kept.status, kept.body.metadata?.note?.length]).toEqual([200, 65_536 - '{"note":""}'.length]);
  });

  it('caps job metadata as stored: mipro_ keys (dropped) do not count, the name (added as mipro_job_name) does', async () => {
    const sized = (chars: number, extra: Record<string, unknown> = {}) => ({ note: 'x'.repeat(chars - '{"note":""}'.length), ...extra });
    const stored = async (jobId: string) => JSON.stringify((await t.server.store.getJob(jobId))?.metadata);
    // Over the cap only through keys the server drops: taken, stored without them.
    const dropped = await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: simJobBody(), metadata: sized(60_000, { mipro_system_id: 'y'.repeat(10_000) }) } });
    expect(dropped.status).toBe(200);
    expect(await stored(dropped.body.job_id)).toBe(JSON.stringify(sized(60_000)));
    // At the cap, and a name on top: the stored value would pass it, so a 422 saying why, and no job.
    const before = (await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length;
    const named = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...simJobBody(), name: 'nightly', metadata: sized(65_536) } });
    expect([named.status, named.body.error?.details]).toEqual([422, [{
      path: 'metadata', message: "must be at most 65536 characters as JSON, the job's name included (it is stored in metadata as mipro_job_name)",
    }]]);
    expect((await t.server.store.listJobs(t.tenantId, { limit: 1000 })).items.length).toBe(before);
    // With room for the name it is taken, and what is stored keeps to the cap.
    const room = 65_536 - ',"mipro_job_name":"nightly"'.length;
    const fits = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...simJobBody(), system: { name: 'nightly' }, metadata: sized(room) } });
    expect([fits.status, fits.body.name]).toEqual([200, 'nightly']);
    expect((await stored(fits.body.job_id)).length).toBe(65_536);
    // Listed beside the body's other problems, so fixing those does not meet this one next.
    const both = await api(t.url, 'POST', JOBS, { key: t.key, body: { ...simJobBody(), agent_id: 5, metadata: sized(65_537) } });
    expect([both.status, both.body.error?.details?.map((d: { path: string }) => d.path).sort()]).toEqual([422, ['agent_id', 'metadata']]);
  });

  it('refuses a {__proto__} placeholder at job creation: no body could ever send its value', async () => {
    const declared = simJobBody() as ReturnType<typeof simJobBody> & { policy_optimization: { modules?: unknown } };
    declared.policy_optimization.modules = [{ name: 'm', template: 'Start {__proto__} end.' }];
    const refused = await api(t.url, 'POST', JOBS, { key: t.key, body: declared });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details).toEqual([{ path: 'policy_optimization.modules.0.template', message: expect.stringMatching(/^placeholder \{__proto__\} cannot be given a value/) }]);
    const initial = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody({}, 'Hello {__proto__}.') });
    expect([initial.status, initial.body.error?.details?.[0]?.path]).toEqual([422, 'policy_optimization.initial_prompt.messages']);
    // What such a job would have asked for, and refused: the value sent explicitly, or a demo carrying it.
    const explicit = await api('', 'POST', `${(await createJob()).proxy_url}/chat/completions`, {
      rawBody: '{"messages":[{"role":"user","content":"u"}],"mipro":{"variables":{"__proto__":"v"}}}',
    });
    expect([explicit.status, explicit.body.error?.param]).toEqual([422, 'mipro.variables.__proto__']);
    // Other placeholders named like object properties stay usable.
    declared.policy_optimization.modules = [{ name: 'm', template: 'Start {constructor} end.' }];
    expect((await api(t.url, 'POST', JOBS, { key: t.key, body: declared })).status).toBe(200);
  });

  it('stores the rollout a reward names before its first call: the call is served that candidate, and the records agree', async () => {
    const job = await createJob();
    const store = t.server.store;
    await addCandidates(store, job.job_id, ['cand_early']);
    const reward = (body: unknown) => api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body });
    const first = await reward({ rollout_id: 'early-1', candidate_id: 'cand_early', reward_info: { score: 1 } });
    expect([first.status, first.body.rollout_id, first.body.candidate_id, first.body.split, first.body.duplicate]).toEqual([200, 'early-1', 'cand_early', 'online', false]);
    // The rollout exists at once, rewarded, with no call yet.
    const view = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/early-1`, { key: t.key });
    expect(view.body).toMatchObject({ rollout_id: 'early-1', candidate_id: 'cand_early', split: 'online', seed: null, reward: 1, call_count: 0, calls: [] });
    // Its first call is served the reward's candidate, not the bandit's pick, and keeps the reward.
    for (let i = 0; i < 2; i++) {
      const call = await api(job.proxy_url, 'POST', '/early-1/chat/completions', { body: { messages: [{ role: 'user', content: `turn ${i}` }] } });
      expect([call.status, call.headers.get('x-mipro-candidate-id')]).toEqual([200, 'cand_early']);
    }
    await waitFor(async () => (await store.getRollout(job.job_id, 'early-1'))?.callCount === 2);
    // The reward made a seedless rollout (a reward carries no seed): a seeded call on it is refused, saying so.
    const seeded = await api(job.proxy_url, 'POST', '/early-1/chat/completions?seed=1', { body: { messages: [{ role: 'user', content: 'seeded' }] } });
    expect([seeded.status, seeded.body.error?.param]).toEqual([422, 'seed']);
    expect(seeded.body.error.message).toMatch(/this rollout runs without a seed \(its reward or first call came without one\)/);
    expect(await store.getRollout(job.job_id, 'early-1')).toMatchObject({ candidateId: 'cand_early', split: 'online', reward: 1 });
    // Not missing for anyone; counted once as a rollout and once as a reward, for cand_early only.
    expect(await store.missingRewardCounts(job.job_id, '9999-01-01T00:00:00.000Z')).toEqual(new Map([['cand_early', { due: 1, missing: 0 }]]));
    expect((await reward({ rollout_id: 'early-1', candidate_id: 'baseline', reward_info: { score: 0 } })).body).toMatchObject({ duplicate: true, candidate_id: 'cand_early', reward: 1 });
    const got = (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    expect([got.rollout_count, got.reward_count]).toEqual([1, 1]);
    expect(got.candidates.map((c: { candidate_id: string; rollout_count: number; reward_count: number }) => [c.candidate_id, c.rollout_count, c.reward_count]))
      .toEqual([['baseline', 0, 0], ['cand_early', 1, 1]]);
    // A reward with no rollout id still makes no rollout record.
    const loose = await reward({ candidate_id: 'cand_early', reward_info: { score: 0 } });
    expect(await store.getRollout(job.job_id, loose.body.rollout_id)).toBeNull();
  });

  it('keeps the correlation id of a reward that makes its rollout record, as a call\'s would be kept', async () => {
    const job = await createJob();
    const reward = (body: unknown) => api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body });
    const first = await reward({ rollout_id: 'early-cid', candidate_id: 'baseline', correlation_id: 'order-7', reward_info: { score: 1 } });
    expect([first.status, first.body.rollout_id]).toEqual([200, 'early-cid']);
    const view = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/early-cid`, { key: t.key });
    expect(view.body).toMatchObject({ rollout_id: 'early-cid', correlation_id: 'order-7', reward: 1 });
    // A reward naming only the correlation id finds that rollout, as it finds a call's.
    const again = await reward({ correlation_id: 'order-7', reward_info: { score: 0 } });
    expect([again.status, again.body.rollout_id, again.body.duplicate]).toEqual([200, 'early-cid', true]);
    // A correlation id the databases would store differently (a lone surrogate) is a 422, and no rollout is made.
    const torn = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, {
      key: t.key, rawBody: '{"rollout_id":"early-torn","candidate_id":"baseline","correlation_id":"c\\ud800","reward_info":{"score":1}}',
    });
    expect([torn.status, torn.body.error?.details]).toEqual([422, [{ path: 'correlation_id', message: expect.stringMatching(/lone UTF-16 surrogate/) }]]);
    expect(await t.server.store.getRollout(job.job_id, 'early-torn')).toBeNull();
  });

  it('stores the rollout a legacy "done" names before any call, as a reward naming it would (its later calls and reward find it)', async () => {
    const job = await createJob();
    const store = t.server.store;
    await addCandidates(store, job.job_id, ['cand_done']);
    const status = (body: unknown) => api(t.url, 'POST', `/api/prompt-learning/online/mipro/systems/${job.system_id}/status`, { key: t.key, body });
    const done = await status({ rollout_id: 'legacy-done-1', status: 'done', candidate_id: 'cand_done' });
    expect([done.status, done.body]).toEqual([200, { status: 'ok', rollout_id: 'legacy-done-1', candidate_id: 'cand_done', reward: null, duplicate: false, job_status: 'running' }]);
    const view = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/legacy-done-1`, { key: t.key });
    expect(view.body).toMatchObject({ rollout_id: 'legacy-done-1', candidate_id: 'cand_done', split: 'online', seed: null, reward: null, call_count: 0 });
    // Said again: the same rollout, not a second one.
    expect((await status({ rollout_id: 'legacy-done-1', status: 'done', candidate_id: 'baseline' })).body).toMatchObject({ candidate_id: 'cand_done' });
    // Its calls are served the candidate the answer named, and the usual reward step needs no candidate_id.
    const call = await api(job.proxy_url, 'POST', '/legacy-done-1/chat/completions', { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect([call.status, call.headers.get('x-mipro-candidate-id')]).toEqual([200, 'cand_done']);
    const rewarded = await status({ rollout_id: 'legacy-done-1', status: 'reward', reward: 1 });
    expect([rewarded.status, rewarded.body.candidate_id, rewarded.body.reward]).toEqual([200, 'cand_done', 1]);
    const got = (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    expect(got.candidates.map((c: { candidate_id: string; rollout_count: number }) => [c.candidate_id, c.rollout_count])).toEqual([['baseline', 0], ['cand_done', 1]]);
    // Without candidate_id nothing says which candidate ran it: a 404 on rollout_id, as for a reward, and no record.
    const unknown = await status({ rollout_id: 'legacy-done-2', status: 'done' });
    expect([unknown.status, unknown.body.error?.details]).toEqual([404, [{ path: 'rollout_id', message: 'no rollout with this id' }]]);
    expect(await store.getRollout(job.job_id, 'legacy-done-2')).toBeNull();
    // After the end it is a monitoring rollout, as a reward's or a call's would be.
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/cancel`, { key: t.key })).status).toBe(200);
    expect((await status({ rollout_id: 'legacy-done-3', status: 'done', candidate_id: 'cand_done' })).body).toMatchObject({ candidate_id: 'cand_done', job_status: 'cancelled' });
    expect(await store.getRollout(job.job_id, 'legacy-done-3')).toMatchObject({ candidateId: 'cand_done', split: 'monitor', reward: null });
  });

  it('records a reward for the stored rollout when a call stored its id after the reward looked (no second record)', async () => {
    const job = await createJob();
    const store = t.server.store;
    await addCandidates(store, job.job_id, ['cand_late']);
    // Another instance's call stored the id with the baseline after this reward's lookup missed it.
    expect(await store.insertRollout({ jobId: job.job_id, id: 'raced-1', candidateId: 'baseline', seed: null, split: 'online', correlationId: null, inputMessages: null })).toBe(true);
    const getRollout = store.getRollout;
    let missed = false;
    store.getRollout = async (jobId, rolloutId) => {
      if (rolloutId === 'raced-1' && !missed) {
        missed = true;
        return null;
      }
      return getRollout.call(store, jobId, rolloutId);
    };
    try {
      const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: 'raced-1', candidate_id: 'cand_late', reward_info: { score: 1 } } });
      expect([res.status, res.body.candidate_id, res.body.duplicate]).toEqual([200, 'baseline', false]);
    } finally {
      store.getRollout = getRollout;
    }
    expect(missed).toBe(true);
    expect(await store.getRollout(job.job_id, 'raced-1')).toMatchObject({ candidateId: 'baseline', reward: 1 });
    const got = (await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body;
    expect([got.rollout_count, got.reward_count]).toEqual([1, 1]);
    expect(got.candidates.map((c: { candidate_id: string; rollout_count: number; reward_count: number }) => [c.candidate_id, c.rollout_count, c.reward_count]))
      .toEqual([['baseline', 1, 1], ['cand_late', 0, 0]]);
  });
});

/** What an upstream answers is not checked by anyone: its record must still be stored, alike on both databases. */
describe.each(['sqlite', 'postgres'] as const)('call records of odd upstream answers (%s)', (db) => {
  let t: TestServer;
  const ANSWERS: Record<string, string> = { nul: 'before \u0000 after', lone: 'before \ud800 after' };
  useFakeUpstreamServer({ db, upstream: { reply: (req) => ANSWERS[String((req.body as { messages: { content: string }[] }).messages.at(-1)?.content)] ?? 'ok' } }, (s) => ({ t } = s));

  it('records an answer holding U+0000 or a lone surrogate (U+FFFD in the record), and relays it unchanged', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    for (const [kind, stream] of [['nul', false], ['nul', true], ['lone', false]] as const) {
      const rid = `${kind}-${stream ? 'sse' : 'json'}`;
      const res = await fetch(`${job.proxy_url}/${rid}/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stream, messages: [{ role: 'system', content: 'Answer.' }, { role: 'user', content: kind }] }),
      });
      expect(res.status).toBe(200);
      if (!stream) expect((await res.json()).choices[0].message.content).toBe(ANSWERS[kind]);
      else await res.text();
      await waitFor(async () => (await t.server.store.getRollout(job.job_id, rid))?.callCount === 1);
      const rollout = await t.server.store.getRollout(job.job_id, rid);
      expect([rollout?.status, rollout?.outputText]).toEqual(['completed', 'before \uFFFD after']);
      const calls = await t.server.store.rolloutCalls(job.job_id, [rid]);
      expect(calls.map((c) => c.outputText)).toEqual(['before \uFFFD after']);
    }
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body.usage.policy.calls).toBe(3);
  });
});


/** The proposer's answers are upstream text too: a proposal must finish with them on both databases. */
describe.each(['sqlite', 'postgres'] as const)('proposals on odd proposer answers (%s)', (db) => {
  let t: TestServer;
  let proposer: FakeUpstream;
  const SYSTEM = 'Classify the question.';
  useProposerServer({
    db,
    policy: { reply: 'label' },
    // A dataset summary and a proposal answer each holding a raw U+0000 (after the JSON, where a parser skips it).
    proposer: {
      reply: (req) => (/describe these inputs/.test(JSON.stringify(req.body)) ? 'Short \u0000 questions.' : '{"instructions": ["Classify the question carefully."]}\u0000'),
    },
    start: { cacheTtlMs: 20 },
  }, (s) => ({ proposer, t } = s));

  it('finishes a proposal whose answer and dataset summary hold U+0000, storing U+FFFD', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url,
      mipro: { online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 2 },
      initialPrompt: SYSTEM,
    });
    (body.policy_optimization.mipro.proposer as Record<string, unknown>).instructions_per_batch = 1;
    const job = await createJob(body);
    for (let i = 0; i < 4; i++) {
      const call = await api('', 'POST', `${job.proxy_url}/r${i}/chat/completions`, { body: { messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `question ${i}` }] } });
      expect(call.status).toBe(200);
      await waitFor(async () => (await t.server.store.getRollout(job.job_id, `r${i}`))?.callCount === 1);
      expect((await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } })).status).toBe(200);
    }
    const proposals = async () => (await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body.items;
    await waitFor(async () => (await proposals()).some((p: { status: string }) => p.status !== 'running'), 10_000);
    const [first] = await proposals();
    expect([first.status, first.error, first.response]).toEqual(['succeeded', null, '{"instructions": ["Classify the question carefully."]}\uFFFD']);
    expect((await t.server.store.listCandidates(job.job_id)).map((c) => c.instruction)).toEqual([SYSTEM, 'Classify the question carefully.']);
    expect((await t.server.store.getJob(job.job_id))?.datasetSummary).toBe('Short \uFFFD questions.');
  });

  async function createJob(body: unknown) {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { job_id: string; system_id: string; proxy_url: string };
  }
});
