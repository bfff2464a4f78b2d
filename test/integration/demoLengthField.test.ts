import { describe, expect, it } from 'vitest';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';

/**
 * An imported demo over the 4,000-character cap was a 422 on `demos.<module>.<i>` saying "must keep
 * its input and its answer within 4000 characters each": the client could not tell which was over,
 * nor by how much (an input is counted over all its turns together, each turn alone may be short).
 * The 422 now names `input` or `output` and the count, and nothing is added.
 */
describe.each<TestDb>(['sqlite'])('demo length refusal names its field (%s)', (db) => {
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' } }, (s) => ({ t } = s));

  it('names the input (all turns together) or the output, with its length', async () => {
    const created = await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: seedJobBody({ initialPrompt: 'Classify.' }) } });
    expect(created.status).toBe(200);
    const sid = created.body.session_id as string;
    const add = (demo: unknown) => api(t.url, 'POST', `/api/systems/${sid}/candidates`, { key: t.key, body: { demos: { main: [{ input: [{ role: 'user', content: 'short' }], output: 'fine' }, demo] } } });

    const longInput = await add({ input: [{ role: 'user', content: 'a'.repeat(3000) }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c'.repeat(3000) }], output: 'o' });
    expect([longInput.status, longInput.body.error.details]).toEqual([422, [
      { path: 'demos.main.1.input', message: 'holds 6001 characters (its 3 turns together): at most 4000' },
    ]]);
    const longOutput = await add({ input: [{ role: 'user', content: 'q' }], output: 'x'.repeat(4001) });
    expect([longOutput.status, longOutput.body.error.details]).toEqual([422, [
      { path: 'demos.main.1.output', message: 'holds 4001 characters: at most 4000' },
    ]]);
    const candidates = await api(t.url, 'GET', `/api/systems/${sid}/candidates`, { key: t.key });
    expect(candidates.body.items.map((c: { candidate_id: string }) => c.candidate_id)).toEqual(['baseline']);
  });
});
