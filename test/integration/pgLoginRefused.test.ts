import { describe, expect, it } from 'vitest';
import { startOwnRoleServer } from '../helpers/ownRoleServer.js';
import { api, simJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * PostgreSQL refusing the server's new connections at login while it runs: its password rotated
 * before the instance's DATABASE_URL was, the role disabled, the database renamed. /readyz already
 * said down, but every request that needed a new connection was a 500 internal_error ("role ... is
 * not permitted to log in" in the log). Docs (API.md, Errors): a refused connect is a 503
 * database_unavailable, and the server serves again by itself once logins work.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe('PostgreSQL refusing logins under a running server', () => {
  it('answers 503 database_unavailable, then serves again once the login works', async () => {
    const { t, role, admin, terminateConnections, close } = await startOwnRoleServer('login');
    try {
      expect((await api(t.url, 'GET', JOBS, { key: t.key })).status).toBe(200);
      await admin.query(`alter role ${role} nologin`);
      await terminateConnections();
      // /readyz's round trip drops the terminated pooled connections, then meets the refused login:
      // from then on every request needs a new connection (a dead one is a 503 for another reason).
      await waitFor(async () => /not permitted to log in/.test((await api(t.url, 'GET', '/readyz')).body.error ?? ''));
      const refused = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() });
      expect([refused.status, refused.body.error?.code]).toEqual([503, 'database_unavailable']);
      expect(refused.headers.get('retry-after')).toBe('1');

      await admin.query(`alter role ${role} login`);
      expect((await api(t.url, 'GET', '/readyz')).status).toBe(200);
      // A pooled connection terminated above and not yet noticed makes one request a 503 of its own.
      let after = 0;
      await waitFor(async () => (after = (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).status) !== 503);
      expect(after).toBe(200);
    } finally {
      await close();
    }
  });
});
