import { request } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { type TestDb, type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * A correlation id sent on a rollout's later call. Earlier releases recorded only the id of the call
 * that made the rollout's record, so a rollout whose first call sent none (or one the scheduler issued
 * without one) never got the id its later calls sent, and a reward naming it was a 404. Now a rollout
 * without one takes the first one a call sends; a different one from the rollout's is a 422 on
 * `correlation_id` (a reward naming it would miss the rollout, or credit an older rollout of that id).
 */
describe.each<TestDb>(['sqlite', 'postgres'])('a correlation id on a rollout\'s later call (%s)', (db) => {
  let t: TestServer;
  let n = 0;
  useTestServer({ db }, (s) => (t = s));

  const SYSTEM = 'Classify the query.';
  const messages = [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'hi' }];

  async function newJob(): Promise<{ system_id: string; proxy_url: string }> {
    const res = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: simJobBody({}, SYSTEM) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  const call = (url: string, cid?: string) => api(url, 'POST', '/chat/completions', {
    body: { model: 'm', messages }, headers: cid === undefined ? {} : { 'x-mipro-correlation-id': cid },
  });

  async function view(systemId: string, rid: string) {
    await t.server.settled();
    return (await api(t.url, 'GET', `/api/systems/${systemId}/rollouts/${rid}`, { key: t.key })).body;
  }

  it('is recorded when the rollout has none, so a reward naming it finds the rollout; another one is a 422, recording nothing', async () => {
    const job = await newJob();
    const rid = `later-${n++}`;
    const url = `${job.proxy_url}/${rid}`;
    expect((await call(url)).status).toBe(200);
    expect((await call(url, 'conv-1')).status).toBe(200);
    expect((await call(url, 'conv-1')).status).toBe(200); // the rollout's own id again
    expect(await view(job.system_id, rid)).toMatchObject({ correlation_id: 'conv-1', call_count: 3 });

    const other = await call(url, 'conv-2');
    expect(other.status).toBe(422);
    expect(other.body.error.param).toBe('correlation_id');
    // The field is named once, then the reason with the id the rollout stored (earlier releases read
    // "correlation id conv-2 is not this rollout's: correlation_id: this rollout's correlation id is ...").
    expect(other.body.error.message).toBe(
      'the rollout has another correlation id: correlation_id: is "conv-2", but this rollout\'s is "conv-1": its later calls may repeat that id or leave it out'
      + ' (a reward naming "conv-2" would not find this rollout); a call of another correlation belongs to a rollout of its own (another rollout id)',
    );
    expect(await view(job.system_id, rid)).toMatchObject({ correlation_id: 'conv-1', call_count: 3 });

    const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { correlation_id: 'conv-1', reward_info: { score: 1 } } });
    expect(reward.status, JSON.stringify(reward.body)).toBe(200);
    expect(reward.body).toMatchObject({ rollout_id: rid, duplicate: false });
  });

  it('tags a rollout the scheduler issued without one by its first call\'s id', async () => {
    const job = await newJob();
    const sessions = `/api/v1/online/sessions/${job.system_id}`;
    const issued = await api(t.url, 'POST', `${sessions}/rollouts`, { key: t.key, body: {} });
    expect(issued.body.correlation_id).toBeNull();
    const res = await api(issued.body.inference_url, 'POST', '/chat/completions?cid=ticket-9', { body: { model: 'm', messages } });
    expect(res.status).toBe(200);
    expect(await view(job.system_id, issued.body.rollout_id)).toMatchObject({ correlation_id: 'ticket-9', call_count: 1 });
    const reward = await api(t.url, 'POST', `${sessions}/reward`, { key: t.key, body: { correlation_id: 'ticket-9', reward_info: { score: 0.5 } } });
    expect(reward.status, JSON.stringify(reward.body)).toBe(200);
    expect(reward.body).toMatchObject({ rollout_id: issued.body.rollout_id, split: issued.body.split });
  });

  it('a rollout\'s first two calls sent together, one with the id and one without: the rollout keeps the id', async () => {
    const job = await newJob();
    for (let i = 0; i < 5; i++) {
      const rid = `together-${n++}`;
      const url = `${job.proxy_url}/${rid}`;
      const [a, b] = await Promise.all([call(url), call(url, `pair-${rid}`)]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(await view(job.system_id, rid)).toMatchObject({ correlation_id: `pair-${rid}`, call_count: 2 });
    }
  });

  it('reads a correlation id header sent as UTF-8 bytes as that text (Go, curl), and one sent as Latin-1 as that (Node, requests)', async () => {
    const job = await newJob();
    const sendRaw = (url: string, headerBytes: string) => new Promise<number>((resolve, reject) => {
      // node:http writes a header's characters as Latin-1 bytes: a string of UTF-8 bytes goes out as those bytes.
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-mipro-correlation-id': headerBytes } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      // A Buffer body: with a string one, node:http writes the head together with it as UTF-8.
      req.end(Buffer.from(JSON.stringify({ model: 'm', messages })));
    });
    for (const [id, bytes] of [['café-票-1', Buffer.from('café-票-1', 'utf8').toString('latin1')], ['café-2', 'café-2']] as const) {
      const rid = `utf8-${n++}`;
      expect(await sendRaw(`${job.proxy_url}/${rid}/chat/completions`, bytes)).toBe(200);
      const seen = await view(job.system_id, rid);
      expect(seen, JSON.stringify(seen.correlation_id)).toMatchObject({ correlation_id: id });
      const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { correlation_id: id, reward_info: { score: 1 } } });
      expect(reward.status, JSON.stringify(reward.body)).toBe(200);
      expect(reward.body.rollout_id).toBe(rid);
    }
  });

  it('a correlation id in the header twice, or sent two ways that disagree, is a 422 on correlation_id, recording nothing; two ways that agree are one id', async () => {
    const job = await newJob();
    const body = JSON.stringify({ model: 'm', messages });
    /** node:http sends each value of an array as a header line of its own, as a proxy adding the header again does. */
    const send = (url: string, headers: Record<string, string | string[]>) => new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });
    const cases: Array<[string, Record<string, string | string[]>, RegExp]> = [
      ['', { 'x-mipro-correlation-id': ['conv-1', 'conv-1'] }, /the x-mipro-correlation-id header is sent 2 times \(joined: "conv-1, conv-1"\): send it once/],
      ['', { 'x-mipro-correlation-id': ['conv-1', 'conv-2'] }, /header is sent 2 times/],
      ['?cid=conv-1', { 'x-mipro-correlation-id': 'conv-2' }, /is sent two ways that disagree \(\?cid= "conv-1", x-mipro-correlation-id "conv-2"\)/],
      ['?cid=conv-1&correlation_id=conv-2', {}, /disagree \(\?cid= "conv-1", \?correlation_id= "conv-2"\)/],
      // A parameter given twice is refused beside another way too: it was passed over, and ?cid= tagged the rollout.
      ['?cid=conv-1&correlation_id=conv-1&correlation_id=conv-2', {}, /correlation_id: is given 2 times: send it once/],
      ['?correlation_id=conv-1&cid=conv-1&cid=conv-2', {}, /correlation_id: is given 2 times: send it once/],
      ['?correlation_id=conv-1&correlation_id=conv-2', { 'x-mipro-correlation-id': 'conv-1' }, /correlation_id: is given 2 times: send it once/],
    ];
    for (const later of [false, true]) {
      for (const [query, headers, said] of cases) {
        const rid = `twice-${n++}`;
        const url = `${job.proxy_url}/${rid}/chat/completions`;
        if (later) expect((await call(`${job.proxy_url}/${rid}`)).status).toBe(200);
        const res = await send(`${url}${query}`, headers);
        expect(res.status, JSON.stringify(res.body)).toBe(422);
        expect(res.body.error.param).toBe('correlation_id');
        expect(res.body.error.message).toMatch(said);
        const stored = await view(job.system_id, rid);
        if (later) expect(stored).toMatchObject({ correlation_id: null, call_count: 1 });
        else expect(stored.error.code).toBe('not_found');
      }
    }
    // The same id from the query and the header is that id.
    const rid = `agree-${n++}`;
    expect((await send(`${job.proxy_url}/${rid}/chat/completions?cid=conv-9`, { 'x-mipro-correlation-id': 'conv-9' })).status).toBe(200);
    expect(await view(job.system_id, rid)).toMatchObject({ correlation_id: 'conv-9', call_count: 1 });
  });
});

describe('a correlation id on a later call, across two instances on one PostgreSQL database', () => {
  const schema = uniqueSchema('corr');
  const key = 'mpx_shared_key_for_correlation_0001';
  let a: RunningServer;
  let b: RunningServer;
  /** Instance a's warnings and errors, one JSON line each. */
  const aLog: string[] = [];
  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: key, LOG_LEVEL: 'silent' });
    a = await startServer(config, { logger: pino({ level: 'warn' }, { write: (line: string) => void aLog.push(line) }) });
    b = await startServer(config, { logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropPostgresSchema(PG_URL, schema);
  });

  it('an instance that remembers the rollout untagged asks the database: the id another instance recorded wins', async () => {
    const created = await api(a.url, 'POST', '/api/v1/online/sessions', { key, body: { config_body: simJobBody({}, 'Classify the query.') } });
    expect(created.status).toBe(200);
    const sid = created.body.session_id as string;
    const call = (via: RunningServer, cid?: string) => api(`${via.url}/api/mipro/v1/${sid}`, 'POST', '/r-1/chat/completions', {
      body: { messages: [{ role: 'user', content: 'hi' }] }, headers: cid === undefined ? {} : { 'x-mipro-correlation-id': cid },
    });
    expect((await call(b)).status).toBe(200); // b makes the rollout, untagged, and remembers it so
    expect((await call(a, 'from-a')).status).toBe(200); // a tags it
    const refused = await call(b, 'from-b');
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toMatch(/this rollout's is "from-a"/);
    expect((await call(b, 'from-a')).status).toBe(200);
    const reward = await api(b.url, 'POST', `/api/v1/online/sessions/${sid}/reward`, { key, body: { correlation_id: 'from-a', reward_info: { score: 1 } } });
    expect(reward.body).toMatchObject({ rollout_id: 'r-1', duplicate: false });
  });

  it('an instance that does not know the rollout (its claim finds it stored, tagged) refuses another id, recording nothing', async () => {
    const created = await api(a.url, 'POST', '/api/v1/online/sessions', { key, body: { config_body: simJobBody({}, 'Classify the query.') } });
    const sid = created.body.session_id as string;
    const call = (via: RunningServer, rid: string, cid: string) => api(`${via.url}/api/mipro/v1/${sid}`, 'POST', `/${rid}/chat/completions`, {
      body: { messages: [{ role: 'user', content: 'hi' }] }, headers: { 'x-mipro-correlation-id': cid },
    });
    for (let i = 0; i < 4; i++) {
      const rid = `tagged-${i}`;
      expect((await call(b, rid, `b-${i}`)).status).toBe(200);
      const refused = await call(a, rid, `a-${i}`);
      expect(refused.status).toBe(422);
      expect(refused.body.error.message).toMatch(new RegExp(`this rollout's is "b-${i}"`));
      expect((await call(a, rid, `b-${i}`)).status).toBe(200);
      await Promise.all([a.settled(), b.settled()]);
      const view = await api(a.url, 'GET', `/api/systems/${sid}/rollouts/${rid}`, { key });
      expect(view.body).toMatchObject({ correlation_id: `b-${i}`, call_count: 2 });
    }
    // The refused calls left nothing behind: no call record that failed to be written.
    expect(aLog.filter((line) => line.includes('background task failed'))).toEqual([]);
  });
});
