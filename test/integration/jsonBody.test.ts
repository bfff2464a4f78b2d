import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * The JSON body parser (src/api/jsonBody.ts). Issue 16 item 6: clients that set `content-type:
 * application/json` globally send it with an empty body on `POST .../pause`; fastify refused that
 * with a 400. Routes that read no body take it. A prototype-rewriting key is a 422 naming it.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const JSON_HEADER = { 'content-type': 'application/json' };

describe('an empty body with content-type application/json', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  const create = async () => (await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody() })).body as { job_id: string; system_id: string };

  it('is accepted by the job control routes', async () => {
    const job = await create();
    for (const [action, status] of [['pause', 'paused'], ['resume', 'running'], ['cancel', 'cancelled']] as const) {
      const res = await api(t.url, 'POST', `${JOBS}/${job.job_id}/${action}`, { key: t.key, rawBody: '', headers: JSON_HEADER });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.status).toBe(status);
    }
  });

  it('is accepted by the session control routes and the seed scheduler', async () => {
    const job = await create();
    const base = `/api/v1/online/sessions/${job.system_id}`;
    const paused = await api(t.url, 'POST', `${base}/pause`, { key: t.key, rawBody: '', headers: JSON_HEADER });
    expect(paused.status).toBe(200);
    expect(paused.body.status).toBe('paused');
    expect((await api(t.url, 'POST', `${base}/resume`, { key: t.key, rawBody: '', headers: JSON_HEADER })).body.status).toBe('running');
    const next = await api(t.url, 'POST', `${base}/rollouts`, { key: t.key, rawBody: '', headers: JSON_HEADER });
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    expect(next.body).toMatchObject({ split: 'bootstrap', rollout_id: expect.any(String) });
  });

  it('is also a blank body (whitespace, or chunked with nothing in it), and an empty body of another type, on routes that read none: it was a 415 saying to send JSON', async () => {
    const job = await create();
    const send = (path: string, method: string, headers: Record<string, string>, body: string) => new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${t.key}`, ...JSON_HEADER, ...headers } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });
    const chunked = { 'transfer-encoding': 'chunked' };
    for (const [action, status, headers, body] of [['pause', 'paused', {}, ' \n'], ['resume', 'running', chunked, ''], ['cancel', 'cancelled', chunked, '\t']] as const) {
      const res = await send(`${JOBS}/${job.job_id}/${action}`, 'POST', headers, body);
      expect(res.status, `${action}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.body.status).toBe(status);
    }
    // curl -X POST ... -d '' sends a form content type with nothing in it.
    const job2 = await create();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const cancelled = await send(`${JOBS}/${job2.job_id}/cancel`, 'POST', form, '');
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect((await send(`${JOBS}/${job2.job_id}`, 'DELETE', { 'content-type': 'text/plain' }, '')).status).toBe(200);
    // A body of another type is still refused, and so is an empty one where a body is needed.
    expect((await send(`${JOBS}/${job.job_id}/pause`, 'POST', form, 'a=b')).status).toBe(415);
    expect((await send(JOBS, 'POST', form, '')).status).toBe(415);
    const deleted = await send(`${JOBS}/${job.job_id}`, 'DELETE', chunked, '');
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    // Where a body is needed, a blank one stays the 400 an empty one gets.
    expect((await send(JOBS, 'POST', chunked, '')).status).toBe(400);
  });

  it('stays a 400 where a body is needed, and malformed JSON stays a 400 everywhere', async () => {
    const created = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: '', headers: JSON_HEADER });
    expect(created.status).toBe(400);
    expect(created.body.error.message).toMatch(/body is empty/);
    const job = await create();
    const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, rawBody: '', headers: JSON_HEADER });
    expect(reward.status).toBe(400);
    const broken = await api(t.url, 'POST', `${JOBS}/${job.job_id}/pause`, { key: t.key, rawBody: '{"x":', headers: JSON_HEADER });
    expect(broken.status).toBe(400);
  });

  it('is the same 400 without any content type where a body is needed (it was a 422 about missing fields)', async () => {
    const job = await create();
    for (const [method, path, key] of [
      ['POST', JOBS, true], ['POST', `${JOBS}/${job.job_id}/promote`, true], ['PATCH', `${JOBS}/${job.job_id}`, true],
      ['POST', `/api/v1/online/sessions/${job.system_id}/reward`, true], ['POST', `/api/systems/${job.system_id}/candidates`, true],
      ['POST', `/api/mipro/v1/${job.system_id}/chat/completions`, false],
    ] as const) {
      const res = await fetch(`${t.url}${path}`, { method, headers: key ? { authorization: `Bearer ${t.key}` } : {} });
      const body = await res.json() as { error: { message: string } };
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(body.error.message, `${method} ${path}`).toMatch(/body is empty: this route needs a JSON body/);
    }
    // Routes that read no body still take none, and nothing was promoted.
    expect((await fetch(`${t.url}${JOBS}/${job.job_id}/pause`, { method: 'POST', headers: { authorization: `Bearer ${t.key}` } })).status).toBe(200);
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body.status).toBe('paused');
  });

  it('refuses a valid JSON body with a prototype-rewriting key as a 422 naming the key', async () => {
    const poisoned = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: '{"__proto__": {"x": 1}}', headers: JSON_HEADER });
    expect(poisoned.status).toBe(422);
    expect(poisoned.body.error.details).toEqual([{ path: '__proto__', message: expect.stringMatching(/prototype/) }]);
    const nested = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: '{"policy_optimization": {"metadata": [{"constructor": {"prototype": {}}}]}}', headers: JSON_HEADER });
    expect(nested.status).toBe(422);
    expect(nested.body.error.details[0].path).toBe('policy_optimization.metadata.0.constructor.prototype');
    // The parser drops a leading byte order mark; the refused key is still named.
    const bom = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: '\uFEFF{"__proto__": 1}', headers: JSON_HEADER });
    expect(bom.status).toBe(422);
    expect(bom.body.error.details[0].path).toBe('__proto__');
    // A key named constructor holding anything else is ordinary data.
    const plain = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: '{"constructor": "x"}', headers: JSON_HEADER });
    expect(plain.status).toBe(422);
    expect(JSON.stringify(plain.body)).not.toMatch(/prototype/);
  });

  it('names the field of a NaN or Infinity value, which Python\'s json.dumps writes for non-finite floats', async () => {
    const job = await create();
    // json.dumps({"rollout_id": "r1", "reward_info": {"score": float("nan")}}), as a Python app sends it.
    const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, {
      key: t.key, rawBody: '{"rollout_id": "r1", "reward_info": {"feedback": "NaN, Infinity", "score": NaN}}', headers: JSON_HEADER,
    });
    expect(reward.status).toBe(400);
    expect(reward.body.error.code).toBe('bad_request');
    expect(reward.body.error.message).toMatch(/^malformed JSON body: reward_info\.score is NaN, which JSON does not have: send a finite number/);
    expect(reward.body.error.details).toEqual([{ path: 'reward_info.score', message: expect.stringMatching(/allow_nan=False/) }]);
    // Nothing recorded.
    expect((await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/rewards`, { key: t.key })).body.items).toEqual([]);
    // In arrays and nested objects, negative too; a key with braces and escaped quotes does not lose the path.
    const nested = await api(t.url, 'POST', JOBS, {
      key: t.key, rawBody: '{"policy_optimization": {"mipro": {"val_seeds": [1, -Infinity]}, "x\\"{": 1}}', headers: JSON_HEADER,
    });
    expect(nested.body.error.details).toEqual([{ path: 'policy_optimization.mipro.val_seeds.1', message: expect.stringMatching(/^is -Infinity/) }]);
    const top = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: 'Infinity', headers: JSON_HEADER });
    expect(top.body.error.message).toMatch(/^malformed JSON body: the body is Infinity/);
    // The proxy answers in OpenAI's shape, the field as `param` (what the openai SDK shows).
    const call = await api(t.url, 'POST', `/api/mipro/v1/${job.system_id}/chat/completions`, {
      rawBody: '{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}', headers: JSON_HEADER,
    });
    expect(call.status).toBe(400);
    expect(call.body.error).toMatchObject({ param: 'temperature', message: expect.stringMatching(/temperature is NaN/) });
    // Other malformed JSON keeps the parser's message.
    const broken = await api(t.url, 'POST', JOBS, { key: t.key, rawBody: '{"x": nan}', headers: JSON_HEADER });
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toMatch(/^malformed JSON body: Body is not valid JSON/);
  });
});
