import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, addModuleCandidates, api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';
const MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];

/**
 * A RAG stage often sends its fixed instruction as the system message and the retrieved passages as
 * a second system (or developer) message. The call record dropped every system message, not only
 * the module's: the rollout view showed the call without its passages (what the model read), and
 * the proposer saw the question without the context its answer came from.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('a call\'s own later system message (%s)', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, start: { cacheTtlMs: 20 }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));

  it('is kept in the call record and the rollout view, with the demo turns placed after it as the upstream got them', async () => {
    const body = seedJobBody();
    Object.assign(body.policy_optimization, { modules: MODULES });
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const demos = [{ input: [{ role: 'user' as const, content: 'Which tower?' }], output: 'The Eiffel tower.', rolloutId: 'r-src' }];
    await addModuleCandidates(t.server.store, job.job_id, 'extract', { cand_demo: 'EXTRACT with examples.' }, { cand_demo: demos });
    await new Promise((r) => setTimeout(r, 50));
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_demo' } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));

    const passages = { role: 'system', content: 'Passages:\n[1] The Eiffel tower is 330 m tall.' };
    const messages = [{ role: 'system', content: MODULES[0]!.template }, passages, { role: 'user', content: 'How tall is it?' }];
    const res = await api(`${job.proxy_url}/ctx1`, 'POST', '/chat/completions', { body: { model: 'x', messages } });
    expect([res.status, res.headers.get('x-mipro-module'), res.headers.get('x-mipro-candidate-id')]).toEqual([200, 'extract', 'cand_demo']);
    const sent = (fake.requests.at(-1)!.body as { messages: unknown[] }).messages;
    // Only the module's message was replaced; the app's passages stay before the demos.
    expect(sent).toEqual([
      { role: 'system', content: 'EXTRACT with examples.' }, passages,
      { role: 'user', content: 'Which tower?' }, { role: 'assistant', content: 'The Eiffel tower.' },
      { role: 'user', content: 'How tall is it?' },
    ]);

    await waitFor(async () => (await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/ctx1`, { key: t.key })).body?.calls?.length === 1);
    const [call] = (await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/ctx1`, { key: t.key })).body.calls;
    expect(call.system_prompt).toBe('EXTRACT with examples.');
    expect(call.input_messages).toEqual([passages, { role: 'user', content: 'How tall is it?' }]);
    expect(call.demo_turns).toEqual(sent.slice(2, 4));
    // The view's pieces, in order, are what the upstream got.
    expect([{ role: 'system', content: call.system_prompt }, passages, ...call.demo_turns, call.input_messages[1]]).toEqual(sent);
  });
});
