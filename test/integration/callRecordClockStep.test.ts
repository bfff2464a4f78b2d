import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DatabaseUnavailableError } from '../../src/shared/errors.js';
import { type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';

const SESSIONS = '/api/v1/online/sessions';
const HOUR = 3_600_000;

/**
 * docs/deploy.md (Clocks): a step of an instance's machine clock changes nothing. A proxied call's
 * record is written again while the database is down, for 60 s: elapsed time. Measured with
 * Date.now, a step of the machine's clock forward during the outage gave the write up at once (the
 * rollout left without its call), and a step back kept retrying for as long as the step.
 */
describe('a call record written during an outage and a step of the machine clock', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('is still written again after the clock stepped forward an hour', async () => {
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
