import { describe, expect, it } from 'vitest';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';
const MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'retrieve', template: 'Write a search query for: {topic}' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];
/** One run of the three-stage app: extract, retrieve, answer. */
const RUN = [MODULES[0]!.template, 'Write a search query for: the Eiffel tower', 'Answer from this context:\nIt is 330 m tall.'];
const TYPE = 'mipro.rollout.per_call';

/**
 * A program whose app sends every call to the bare proxy URL (`session.proxyUrl`, the URL `jobs show`
 * and the dashboard offer to copy) instead of a per-rollout URL: each call becomes a rollout of its
 * own, so the stages of one run may get different candidates and the run's one reward credits one
 * call's rollout. Routing is unchanged; the job now says so once, as `mipro.rollout.per_call` (earlier
 * releases said nothing). On SQLite and PostgreSQL, over real HTTP.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('calls of a program without a rollout id (%s)', (db) => {
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' } }, (s) => ({ t } = s));

  async function newJob(modules?: typeof MODULES) {
    const body = seedJobBody(modules ? {} : { initialPrompt: 'You are a helpful assistant.' });
    if (modules) Object.assign(body.policy_optimization, { modules });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { job_id: string; system_id: string; proxy_url: string };
  }
  const run = async (base: string, system: string[], headers: Record<string, string> = {}) => {
    const answers = [];
    for (const s of system) {
      const res = await api(base, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: s }, { role: 'user', content: 'q' }] }, headers });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      answers.push(res);
    }
    return answers;
  };
  const perCallEvents = async (systemId: string) => {
    const res = await api(t.url, 'GET', `/api/v1/online/sessions/${systemId}/events?event_type=${TYPE}`, { key: t.key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.events as Array<{ event_type: string; message: string; data: { modules: string[] } }>;
  };
  /** Every event written so far: the job's status event follows the calls' (a later write's seq). */
  const settled = async (job: { job_id: string }) => {
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/pause`, { key: t.key })).status).toBe(200);
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/resume`, { key: t.key })).status).toBe(200);
  };

  it('reports once, naming the modules and the per-rollout URL, when a run\'s calls go to the bare proxy URL', async () => {
    const job = await newJob(MODULES);
    for (let i = 0; i < 3; i++) {
      // A correlation id per run does not tie the calls together either: each is still a rollout of its own.
      const answers = await run(job.proxy_url, RUN, { 'x-mipro-correlation-id': `run-${i}` });
      expect(new Set(answers.map((a) => a.headers.get('x-mipro-rollout-id'))).size).toBe(3);
      expect(answers.map((a) => a.headers.get('x-mipro-module'))).toEqual(['extract', 'retrieve', 'answer']);
    }
    await waitFor(async () => (await perCallEvents(job.system_id)).length > 0);
    await settled(job);
    const events = await perCallEvents(job.system_id);
    expect(events).toHaveLength(1);
    expect(events[0]!.data.modules).toEqual(['extract', 'retrieve']);
    expect(events[0]!.message).toContain('without a rollout id');
    expect(events[0]!.message).toContain('{proxy_url}/{rollout_id}');
    expect(events[0]!.message).toContain('session.rolloutBaseUrl');
  });

  it('says nothing when each run names its rollout (path or x-mipro-rollout-id), or the job has one module', async () => {
    const job = await newJob(MODULES);
    for (let i = 0; i < 2; i++) {
      const inPath = await run(`${job.proxy_url}/path-${i}`, RUN);
      expect(new Set(inPath.map((a) => a.headers.get('x-mipro-candidate-id'))).size).toBe(1);
      await run(job.proxy_url, RUN, { 'x-mipro-rollout-id': `header-${i}` });
    }
    const single = await newJob();
    const calls = await run(single.proxy_url, ['You are a helpful assistant.', 'You are a helpful assistant.']);
    expect(calls.map((a) => a.headers.get('x-mipro-module'))).toEqual(['main', 'main']);
    await settled(job);
    await settled(single);
    expect(await perCallEvents(job.system_id)).toEqual([]);
    expect(await perCallEvents(single.system_id)).toEqual([]);
  });
});
