import { describe, expect, it } from 'vitest';
import { type FakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, api, seedJobBody } from '../helpers/server.js';
import { addProgram } from '../helpers/programs.js';
import { waitFor } from '../helpers/waitFor.js';
import { newJobId, newSystemId } from '../../src/shared/ids.js';
import type { JobConfig } from '../../src/schemas/jobConfig.js';

const JOBS = '/api/policy-optimization/online/jobs';
const PATTERN = 'You classify banking intents.\nHint: {hint}\nCustomer: {customer}';

/**
 * `initial_prompt.wildcards` (public SDK form): an OPTIONAL placeholder of the system pattern with no
 * value renders as "" (baseline and candidates alike) instead of a 422; REQUIRED and undeclared
 * placeholders keep the 422. Over real HTTP against the fake upstream, on SQLite and PostgreSQL.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('initial_prompt wildcards (%s)', (db) => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' }, start: { cacheTtlMs: 20 }, forgetRequestsBeforeEach: true }, (s) => ({ fake, t } = s));

  function body(wildcards: Record<string, unknown> | undefined) {
    const b = seedJobBody();
    Object.assign(b.policy_optimization, {
      initial_prompt: {
        messages: [{ role: 'system', pattern: PATTERN, order: 0 }, { role: 'user', pattern: 'Query: {query}', order: 1 }],
        ...(wildcards ? { wildcards } : {}),
      },
    });
    return b;
  }

  async function newJob(wildcards: Record<string, unknown> | undefined) {
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body: body(wildcards) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { job_id: string; system_id: string; proxy_url: string };
  }

  const chat = (url: string, b: unknown, headers: Record<string, string> = {}) => api(url, 'POST', '/chat/completions', { body: b, headers });
  /** The public form: no system message, the proxy adds the pattern. */
  const bare = (variables?: Record<string, string>) => ({ model: 'x', messages: [{ role: 'user', content: 'Query: lost card' }], ...(variables ? { mipro: { variables } } : {}) });
  const recordedVariables = async (systemId: string, rolloutId: string) => {
    const path = `/api/systems/${systemId}/rollouts/${rolloutId}`;
    await waitFor(async () => (await api(t.url, 'GET', path, { key: t.key })).body?.calls?.length === 1);
    return (await api(t.url, 'GET', path, { key: t.key })).body.calls[0].variables;
  };

  it('renders an OPTIONAL placeholder without a value as "" and records it so; a REQUIRED one stays a 422', async () => {
    // `query` names the user pattern's placeholder, as the public demos do: accepted and ignored.
    const job = await newJob({ hint: 'OPTIONAL', customer: 'REQUIRED', query: 'REQUIRED' });

    const ok = await chat(`${job.proxy_url}/opt1`, bare({ customer: 'Ada' }));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('You classify banking intents.\nHint: \nCustomer: Ada');
    expect(await recordedVariables(job.system_id, 'opt1')).toEqual({ hint: '', customer: 'Ada' });

    // A value, when there is one, is used as before.
    await chat(`${job.proxy_url}/opt2`, bare({ customer: 'Bob', hint: 'cards' }));
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('You classify banking intents.\nHint: cards\nCustomer: Bob');

    // REQUIRED keeps the 422, naming only the required placeholder; nothing goes upstream.
    const before = fake.requests.length;
    const refused = await chat(`${job.proxy_url}/opt3`, bare());
    expect(refused.status).toBe(422);
    expect(refused.body.error.param).toBe('mipro.variables.customer');
    expect(refused.body.error.message).not.toMatch(/hint/);
    expect(fake.requests.length).toBe(before);
  });

  it('captures an optional placeholder left empty in the system text as "", and keeps the app\'s text', async () => {
    const job = await newJob({ hint: 'OPTIONAL' });
    const system = 'You classify banking intents.\nHint: \nCustomer: Chen';
    const res = await chat(`${job.proxy_url}/empty`, { model: 'x', messages: [{ role: 'system', content: system }, { role: 'user', content: 'q' }] });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-mipro-candidate-id')).toBe('baseline');
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe(system);
    expect(await recordedVariables(job.system_id, 'empty')).toEqual({ hint: '', customer: 'Chen' });
  });

  it('renders "" in a candidate\'s text that keeps {hint}, on a named module whose text does not match too', async () => {
    const job = await newJob({ hint: 'optional' }); // either case
    await addProgram(t.server.store, job.job_id, 'cand_hint', { main: 'Classify with care. {hint}\nCustomer: {customer}' }, 'main');
    expect((await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_hint' } })).status).toBe(200);

    const res = await chat(`${job.proxy_url}/cand1`, bare({ customer: 'Ada' }));
    expect(res.headers.get('x-mipro-candidate-id')).toBe('cand_hint');
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('Classify with care. \nCustomer: Ada');

    const named = await chat(`${job.proxy_url}/cand2`, { ...bare({ customer: 'Bob' }), messages: [{ role: 'system', content: 'Something else' }, { role: 'user', content: 'q' }] }, { 'x-mipro-module': 'main' });
    expect(named.status).toBe(200);
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('Classify with care. \nCustomer: Bob');
  });

  it('keeps every placeholder required without wildcards', async () => {
    const job = await newJob(undefined);
    const refused = await chat(`${job.proxy_url}/none`, bare({ customer: 'Ada' }));
    expect(refused.status).toBe(422);
    expect(refused.body.error.param).toBe('mipro.variables.hint');
  });

  it('takes any wildcard text, as earlier releases did: only OPTIONAL makes a placeholder optional; a non-string is refused', async () => {
    const refused = await api(t.url, 'POST', JOBS, { key: t.key, body: body({ hint: 'OPTIONAL', customer: 5, query: 'REQUIRED' }) });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details).toEqual([
      { path: 'policy_optimization.initial_prompt.wildcards.customer', message: 'must be a string ("REQUIRED" or "OPTIONAL")' },
    ]);
    const job = await newJob({ hint: 'text', customer: 'Optional' });
    const missing = await chat(`${job.proxy_url}/any1`, bare());
    expect(missing.status).toBe(422);
    expect(missing.body.error.param).toBe('mipro.variables.hint');
    expect((await chat(`${job.proxy_url}/any2`, bare({ hint: 'h' }))).status).toBe(200);
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('You classify banking intents.\nHint: h\nCustomer: ');
  });

  it('loads a job stored with any wildcard text (earlier releases took any string): only OPTIONAL is optional', async () => {
    const { config } = (await t.server.store.getJob((await newJob(undefined)).job_id))!;
    const stored = { ...config, initial_prompt: { ...config.initial_prompt!, wildcards: { hint: 'foo', customer: 'Optional' } } } as JobConfig;
    const old = await t.server.store.createJob({
      id: newJobId(), tenantId: t.tenantId, systemId: newSystemId(), config: stored, modules: [{ name: 'main', template: PATTERN }], correlationId: null, metadata: {},
    });
    expect((await api(t.url, 'GET', `${JOBS}/${old.id}`, { key: t.key })).status).toBe(200);
    const proxy = `${t.url}/api/mipro/v1/${old.systemId}`;
    const refused = await chat(`${proxy}/old1`, bare());
    expect(refused.status).toBe(422);
    expect(refused.body.error.param).toBe('mipro.variables.hint');
    const ok = await chat(`${proxy}/old2`, bare({ hint: 'h' }));
    expect(ok.status).toBe(200);
    expect(systemPromptOf(fake.requests.at(-1)!)).toBe('You classify banking intents.\nHint: h\nCustomer: ');
  });
});
