import { describe, expect, it } from 'vitest';
import { startOwnRoleServer } from '../helpers/ownRoleServer.js';
import { api, simJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * PostgreSQL accepting reads but refusing writes: after a failover the address still leads to the old
 * primary, now a standby, or the database was put read-only for maintenance (here: the role's
 * default_transaction_read_only, which is what a hot standby answers too: 25006). Every write was a
 * 500 internal_error while /readyz, whose round trip only reads, said ready, so the balancer kept the
 * instance. Writes answer 503 database_unavailable, and /readyz says down for as long as the
 * database refuses them (its round trip asks), not only for a while after each refused write.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe('PostgreSQL refusing writes under a running server', () => {
  it('answers 503 database_unavailable and says down on /readyz, then serves again', async () => {
    const { t, role, admin, terminateConnections, close } = await startOwnRoleServer('ro');
    // The role's setting applies to connections opened after it: the switchover ends the old ones.
    const reconnect = terminateConnections;
    try {
      await admin.query(`alter role ${role} set default_transaction_read_only = on`);
      await reconnect();
      // A request that meets a terminated pooled connection is a 503 of its own (the pool drops it):
      // wait until reads are served on fresh, read-only connections.
      await waitFor(async () => (await api(t.url, 'GET', JOBS, { key: t.key })).status === 200);
      // Down as long as the database refuses writes, not only for 5 s after a refused one: a balancer
      // that took the instance out sends it no writes, so it said ready again, got traffic back and
      // answered it 503s, over and over. Here no write was tried yet.
      const before = await api(t.url, 'GET', '/readyz');
      expect([before.status, before.body.error]).toEqual([503, expect.stringMatching(/read-only/)]);
      const refused = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
      expect([refused.status, refused.body.error?.code]).toEqual([503, 'database_unavailable']);
      expect(refused.headers.get('retry-after')).toBe('1');
      const ready = await api(t.url, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.error).toMatch(/read-only/);

      await admin.query(`alter role ${role} reset default_transaction_read_only`);
      await reconnect();
      let after = 0;
      await waitFor(async () => (after = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).status) !== 503);
      expect(after).toBe(200);
    } finally {
      await close();
    }
  });
});
