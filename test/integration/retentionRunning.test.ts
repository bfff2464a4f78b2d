import { describe, expect, it } from 'vitest';
import { api, simJobBody } from '../helpers/server.js';
import { DAY_MS, useRetentionServer } from '../helpers/retentionServer.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * RETENTION_DAYS in a job that is still running (retention clears by the record's age, whatever the
 * job's status): the proposer's reflection must not show a cleared rollout as an example. Its call
 * records stay with their text gone, and were rendered "Input: (empty) / Output: (no output)", which
 * tells the proposer the model answered nothing, while rollouts whose text is still there were left out.
 */
const SESSIONS = '/api/v1/online/sessions';

describe.each(['sqlite', 'postgres'] as const)('RETENTION_DAYS in a running job on %s', (db) => {
  const srv = useRetentionServer(db);

  async function rollout(s: { proxy_url: string; session_id: string }, id: string, reward: number): Promise<void> {
    const call = await api(s.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: `question ${id}` }] } });
    expect(call.status).toBe(200);
    const r = await api(srv.t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: srv.t.key, body: { rollout_id: id, reward_info: { score: reward } } });
    expect(r.status).toBe(200);
  }

  it('shows the proposer only rollouts whose text is still kept', async () => {
    const s = (await api(srv.t.url, 'POST', SESSIONS, { key: srv.t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 6 }, 'Classify the query.') } })).body;
    for (const id of ['old-1', 'old-2', 'old-3']) await rollout(s, id, 0);
    srv.setClockOffset(2 * DAY_MS);
    await waitFor(async () => (await srv.t.server.store.rolloutCalls(s.job_id, ['old-3']))[0]?.outputText === null);
    for (const [id, reward] of [['new-1', 0.5], ['new-2', 0.9], ['new-3', 1]] as const) await rollout(s, id, reward);

    let prompt = '';
    await waitFor(async () => {
      const items = (await api(srv.t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: srv.t.key })).body.items as { prompt: { content: string }[] }[];
      prompt = items[0]?.prompt.map((m) => m.content).join('\n') ?? '';
      return prompt !== '';
    });
    expect(prompt).toContain('question new-1');
    expect(prompt).not.toContain('(no output)');
  });
});
