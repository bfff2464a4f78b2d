import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestServer, api, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';
const HOUR = 3_600_000;

/**
 * Elapsed-time checks that are this process's alone (the key cache's 1 s) are taken on the monotonic
 * clock. On the wall clock, a step of the machine's clock back an hour (NTP correcting it, a VM
 * resumed) made `now - cachedAt` negative: a key revoked after the step kept working on this
 * instance for the hour.
 */
describe('a step of the machine clock', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('back an hour does not keep a revoked key working', async () => {
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
});
