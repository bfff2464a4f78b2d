import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';

const turns = (n: number, tag: string) => Array.from({ length: n }, (_, k) => ({ role: k % 2 ? 'assistant' : 'user', content: k === 0 ? tag : 'a' }));

/**
 * An imported demo was bounded by characters only: 15 demos of 1,999 one-character turns were
 * accepted, and every call of the candidate then went upstream with 30,002 messages (about 975 KB)
 * where the client sent 2, though the proxy refuses a client's call of over 10,000. A demo now holds
 * at most 64 input turns: more is a 422 on its `input`, and nothing is added.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('demo turn limit on import (%s)', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' } }, (s) => ({ fake, t } = s));

  it('refuses a demo of more than 64 turns, naming it, and adds no candidate', async () => {
    const created = await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: seedJobBody({ mipro: { max_demos: 16 }, initialPrompt: 'Classify.' }) } });
    expect(created.status).toBe(200);
    const sid = created.body.session_id as string;
    const add = (demos: unknown[]) => api(t.url, 'POST', `/api/systems/${sid}/candidates`, { key: t.key, body: { demos: { main: demos } } });

    const long = await add([{ input: turns(63, 'q0'), output: 'b' }, { input: turns(1999, 'q1'), output: 'b' }]);
    expect(long.status, JSON.stringify(long.body).slice(0, 300)).toBe(422);
    expect(long.body.error.details).toEqual([{ path: 'demos.main.1.input', message: 'must hold at most 64 turns: every demo is sent with every call of its module' }]);
    const candidates = await api(t.url, 'GET', `/api/systems/${sid}/candidates`, { key: t.key });
    expect(candidates.body.items.map((c: { candidate_id: string }) => c.candidate_id)).toEqual(['baseline']);

    // 64 turns is a demo (this one ends on an assistant turn, refused for that, not for its length).
    expect((await add([{ input: turns(64, 'q2'), output: 'b' }])).body.error.details[0].message).toMatch(/must end its input on a user turn/);
    const ok = await add([{ input: turns(63, 'q3'), output: 'b' }, { input: turns(63, 'q4'), output: 'b' }]);
    expect(ok.status, JSON.stringify(ok.body).slice(0, 300)).toBe(200);
    // Served: the client's 2 messages plus 2 x (63 turns + the answer).
    for (let i = 0; fake.requests.length === 0 || (fake.requests.at(-1)!.body as { messages: unknown[] }).messages.length === 2; i++) {
      expect(i).toBeLessThan(60);
      const r = await api(created.body.proxy_url, 'POST', `/r${i}/chat/completions`, { body: { model: 'x', messages: [{ role: 'system', content: 'Classify.' }, { role: 'user', content: 'hi' }] } });
      expect(r.status).toBe(200);
    }
    expect((fake.requests.at(-1)!.body as { messages: unknown[] }).messages).toHaveLength(2 + 2 * 64);
  });
});
