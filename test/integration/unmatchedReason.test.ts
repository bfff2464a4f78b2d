import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * Why a discovering job passed a call through, as its `mipro.module.unmatched` event says it (and
 * `miprox jobs show` prints it): "discovery was full" only when it was. A job far below
 * `mipro.max_modules` also passes through a call that names a discovered module with another text
 * (a discovered module is one exact text) and a text over the template limit (never discovered);
 * their events used to say the job had reached mipro.max_modules, sending the user to raise a cap
 * that was not the cause.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('unmatched reason in a discovering job (%s)', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, start: { cacheTtlMs: 20 }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));

  const call = (system: string) => ({ model: 'x', messages: [{ role: 'system', content: system }, { role: 'user', content: 'q' }] });
  const unmatchedEvents = async (systemId: string) =>
    (await api(t.url, 'GET', `/api/v1/online/sessions/${systemId}/events?event_type=mipro.module.unmatched`, { key: t.key })).body.events as
      { message: string; data: { reason: string; length: number } }[];

  it('says a named discovered module takes only its own text, and a text over the limit is never discovered, not that discovery was full', async () => {
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() }); // no modules: discovery, max_modules 8
    expect(created.status).toBe(200);
    const { system_id: systemId, proxy_url: proxy } = created.body as { system_id: string; proxy_url: string };
    const chat = (rollout: string, system: string, headers: Record<string, string> = {}) =>
      api(`${proxy}/${rollout}`, 'POST', '/chat/completions', { body: call(system), headers });

    // The first text under the name becomes module "check"; another request's text under it passes through.
    expect((await chat('r1', 'Use only these passages:\nP1', { 'x-mipro-module': 'check' })).headers.get('x-mipro-module')).toBe('check');
    const named = await chat('r2', 'Use only these passages:\nP2', { 'x-mipro-module': 'check' });
    expect([named.status, named.headers.get('x-mipro-unmatched')]).toEqual([200, 'true']);
    // A text longer than a template may be is never discovered.
    const long = await chat('r3', `Use only these passages:\n${'x'.repeat(100_001)}`);
    expect([long.status, long.headers.get('x-mipro-unmatched')]).toEqual([200, 'true']);
    expect(fake.requests).toHaveLength(3);

    await waitFor(async () => (await unmatchedEvents(systemId)).length === 2);
    const events = await unmatchedEvents(systemId);
    const byLength = (n: number) => events.find((e) => e.data.length === n)!;
    const other = byLength('Use only these passages:\nP2'.length);
    expect(other.data.reason).toBe('no_match');
    expect(other.message).not.toMatch(/max_modules/);
    expect(other.message).toMatch(/it named module "check", which was discovered from another system text and takes only that text/);
    const tooLong = byLength('Use only these passages:\n'.length + 100_001);
    expect(tooLong.data.reason).toBe('no_match');
    expect(tooLong.message).not.toMatch(/max_modules/);
    expect(tooLong.message).toMatch(/longer than 100000 characters, the longest text a module is discovered from/);
    // The job holds the one module it discovered, far below its cap.
    const view = await api(t.url, 'GET', `${JOBS}/${(created.body as { job_id: string }).job_id}`, { key: t.key });
    expect(view.body.modules.map((m: { name: string }) => m.name)).toEqual(['check']);
  });
});
