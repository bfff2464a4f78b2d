import { afterEach, describe, expect, it, vi } from 'vitest';
import { DatabaseUnavailableError } from '../../src/shared/errors.js';
import { type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const HOUR = 3_600_000;

/**
 * docs/deploy.md (Clocks): a step of an instance's machine clock (NTP correcting it, a VM resumed)
 * changes nothing. Elapsed-time checks that are this process's alone are taken on the monotonic clock;
 * on the wall clock `now - then` went negative or jumped by the step.
 */
describe('a step of the machine clock', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('back an hour does not keep a revoked key working (the key cache holds 1 s)', async () => {
    const { key } = await t.newTenantKey();
    expect((await api(t.url, 'GET', JOBS, { key })).status).toBe(200); // cached for 1 s
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() - HOUR);
    const k = (await t.server.store.listApiKeys()).at(-1)!;
    expect(await t.server.store.revokeApiKey(k.id)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await api(t.url, 'GET', JOBS, { key });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/revoked/);
  });

  it('forward an hour during an outage does not give up writing a call record (retried for 60 s)', async () => {
    const session = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 100_000 }, 'Answer.') } });
    expect(session.status, JSON.stringify(session.body)).toBe(200);
    const store = t.server.store;
    const original = store.completeRolloutCall.bind(store);
    let tries = 0;
    vi.spyOn(store, 'completeRolloutCall').mockImplementation(async (...args) => {
      tries += 1;
      if (tries === 1) {
        vi.setSystemTime(Date.now() + HOUR); // NTP steps the clock forward
        throw new DatabaseUnavailableError('the database is unavailable; retry shortly');
      }
      return original(...args);
    });
    // Date faked (timers stay real) from before the call, so a step reaches whatever read Date.now.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const call = await api(`${t.url}/api/mipro/v1/${session.body.session_id}`, 'POST', '/r-clock-step/chat/completions', { body: { messages: [{ role: 'user', content: 'hi' }] } });
    expect(call.status).toBe(200);
    await t.server.settled();
    expect(tries).toBe(2);
    const rollout = await store.getRollout(session.body.job_id, 'r-clock-step');
    expect(rollout?.callCount).toBe(1);
  });
});
