import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PG_URL } from '../helpers/postgres.js';
import { api, simJobBody, startTestServer } from '../helpers/server.js';
import { alarmLogger, testDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * A proxied call whose rollout could not be stored (the database went away between two calls of a
 * job the instance holds in memory) answers 503 database_unavailable and stores nothing. The log
 * said so twice: the `request refused (503)` warning README promises ("one line each"), and an
 * error-level `background task failed` with a stack for the call record, which reads as a lost
 * record although there was no rollout to record a call of. Seen by an operator after an outage of
 * a few seconds behind HAProxy: one such error line for most refused calls.
 */
describe('a proxied call refused because its rollout could not be stored', () => {
  it('is logged once, as the refused request, not also as a failed call record', async () => {
    const db = testDatabase('postgres', 'refusedlog');
    const alarms: string[] = [];
    const t = await startTestServer({ db: 'postgres', env: db.env, start: { logger: alarmLogger(alarms) } });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody() })).body;
      const call = (rolloutId: string, stream: boolean) => api(job.proxy_url, 'POST', `/${rolloutId}/chat/completions`, { body: { stream, messages: [{ role: 'user', content: 'hi' }] } });
      expect((await call('before', false)).status).toBe(200);
      // That call's record is written after its answer: stored before the drop, so the only writes
      // that meet the missing schema are the refused calls' (on a loaded machine it came after).
      const before = `/api/systems/${job.system_id}/rollouts/before`;
      await waitFor(async () => ((await api(t.url, 'GET', before, { key: t.key })).body?.calls?.length ?? 0) === 1);

      // The job stays cached for a second: the rollout's claim is the first statement that fails.
      await admin.query(`drop schema "${db.env.DATABASE_SCHEMA}" cascade`);
      const refused = await Promise.all([call('json', false), call('stream', true)]);
      expect(refused.map((r) => [r.status, r.body.error?.code])).toEqual([[503, 'database_unavailable'], [503, 'database_unavailable']]);
    } finally {
      await admin.end();
      await t.close(); // drains the background work, the call records included
      await db.drop();
    }
    const messages = alarms.map((line) => JSON.parse(line).msg as string);
    expect(messages.filter((m) => m === 'background task failed')).toEqual([]);
    expect(messages.filter((m) => m === 'request refused (503)')).toHaveLength(2);
  }, 30_000);
});
