import { afterAll, describe, expect, it } from 'vitest';
import { type TestServer, api, pipelineJobBody, simJobBody, startTestServer } from '../helpers/server.js';
import { testDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * A new server on the same database (a restart) rebuilds what the old one kept in memory: the
 * modules a job discovered, which unmatched texts were already reported (once per job), and routes
 * rollouts started before the restart to their candidate.
 */
const SESSIONS = '/api/v1/online/sessions';

describe.each(['sqlite', 'postgres'] as const)('a restart on the same %s database', (db) => {
  const database = testDatabase(db, 'restart');
  const env = database.env;
  afterAll(() => database.drop());

  const chat = (url: string, id: string, system: string) => fetch(`${url}/${id}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'system', content: system }, { role: 'user', content: 'hi' }] }),
  });

  it('keeps discovered modules, reported unmatched texts and rollout candidates', async () => {
    let t: TestServer = await startTestServer({ db: 'sqlite', env });
    const key = t.key;
    const disc = (await api(t.url, 'POST', SESSIONS, { key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000 }) } })).body;
    const decl = (await api(t.url, 'POST', SESSIONS, { key, body: { config_body: pipelineJobBody({ online_proposer_min_rollouts: 1000 }) } })).body;
    expect((await chat(disc.proxy_url, 'd-1', 'You sort tickets.')).headers.get('x-mipro-module')).toBe('m1');
    const before = await chat(decl.proxy_url, 'u-1', 'Nothing declared matches this.');
    expect(before.headers.get('x-mipro-unmatched')).toBe('true');
    await waitFor(async () => (await api(t.url, 'GET', `${SESSIONS}/${decl.session_id}`, { key })).body.unmatched_prompts === 1);
    await t.close();

    t = await startTestServer({ db: 'sqlite', env });
    // The sessions' proxy URLs, on the new server's port.
    const proxy = (s: { proxy_url: string }) => s.proxy_url.replace(/:\d+\//, `:${new URL(t.url).port}/`);
    try {
      expect((await chat(proxy(disc), 'd-2', 'You sort tickets.')).headers.get('x-mipro-module')).toBe('m1');
      const second = await chat(proxy(disc), 'd-3', 'You write replies.');
      expect(second.headers.get('x-mipro-module')).toBe('m2');
      const declUrl = proxy(decl);
      expect((await chat(declUrl, 'u-2', 'Nothing declared matches this.')).headers.get('x-mipro-unmatched')).toBe('true');
      expect((await chat(declUrl, 'u-3', 'Another unmatched text.')).headers.get('x-mipro-unmatched')).toBe('true');
      await waitFor(async () => (await api(t.url, 'GET', `${SESSIONS}/${decl.session_id}`, { key })).body.unmatched_prompts === 2);
      const events = (await api(t.url, 'GET', `${SESSIONS}/${decl.session_id}/events`, { key })).body.events as { event_type: string }[];
      expect(events.filter((e) => e.event_type === 'mipro.module.unmatched')).toHaveLength(2);
      const view = (await api(t.url, 'GET', `${SESSIONS}/${disc.session_id}`, { key })).body;
      expect(view.modules.map((m: { name: string }) => m.name)).toEqual(['m1', 'm2']);
      // The rollout started before the restart is still known, with its candidate.
      const again = await chat(proxy(disc), 'd-1', 'You sort tickets.');
      expect(again.status).toBe(200);
      expect(again.headers.get('x-mipro-candidate-id')).toBe('baseline');
    } finally {
      await t.close();
    }
  });
});
