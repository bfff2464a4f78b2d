import { describe, expect, it } from 'vitest';
import { type TestServer, api, simJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * Issue 16 item 1: a misspelled field used to be dropped by zod and the job ran without it
 * (`max_rollout: 3` never ended the job). Every level of the job body, the session body and
 * `overrides` now names the unknown key and the nearest known one.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';

type Detail = { path: string; message: string };
type Po = ReturnType<typeof simJobBody>['policy_optimization'];

function withPo(mutate: (po: Po & Record<string, unknown>) => void): ReturnType<typeof simJobBody> {
  const body = simJobBody();
  mutate(body.policy_optimization as Po & Record<string, unknown>);
  return body;
}

const cases: Array<{ name: string; route: string; body: unknown; path: string; suggestion: string | null }> = [
  { name: 'mipro.max_rollout', route: JOBS, body: withPo((p) => Object.assign(p.mipro, { max_rollout: 3 })), path: 'policy_optimization.mipro.max_rollout', suggestion: 'max_rollouts' },
  { name: 'policy.temprature', route: JOBS, body: withPo((p) => Object.assign(p.policy, { temprature: 0.2 })), path: 'policy_optimization.policy.temprature', suggestion: 'temperature' },
  { name: 'proposer.instruction_per_batch', route: JOBS, body: withPo((p) => Object.assign(p.mipro.proposer, { instruction_per_batch: 3 })), path: 'policy_optimization.mipro.proposer.instruction_per_batch', suggestion: 'instructions_per_batch' },
  { name: 'top level of the config', route: JOBS, body: withPo((p) => Object.assign(p, { polcy: {} })), path: 'policy_optimization.polcy', suggestion: 'policy' },
  { name: 'initial_prompt message', route: JOBS, body: withPo((p) => Object.assign(p, { initial_prompt: { messages: [{ role: 'system', patern: 'x' }] } })), path: 'policy_optimization.initial_prompt.messages.0.patern', suggestion: 'pattern' },
  { name: 'seed range', route: JOBS, body: withPo((p) => Object.assign(p.mipro, { online_pool: { start: 0, ned: 5, end: 5 } })), path: 'policy_optimization.mipro.online_pool.ned', suggestion: 'end' },
  { name: 'job body top level', route: JOBS, body: { ...simJobBody(), metdata: { a: 1 } }, path: 'metdata', suggestion: 'metadata' },
  { name: 'session body top level', route: SESSIONS, body: { config_body: simJobBody(), correlaton_id: 'c1' }, path: 'correlaton_id', suggestion: 'correlation_id' },
  { name: 'session config_body beside its wrapper', route: SESSIONS, body: { config_body: { ...simJobBody(), policy_optimisation: {} } }, path: 'config_body.policy_optimisation', suggestion: 'policy_optimization' },
  { name: 'session config inside the wrapper', route: SESSIONS, body: { config: withPo((p) => Object.assign(p.mipro, { online_proposer_min_rolouts: 2 })) }, path: 'config.policy_optimization.mipro.online_proposer_min_rolouts', suggestion: 'online_proposer_min_rollouts' },
  { name: 'overrides with a wrapper', route: SESSIONS, body: { config_body: simJobBody(), overrides: { 'prompt_learning.mipro.max_rollout': 3 } }, path: 'overrides.prompt_learning.mipro.max_rollout', suggestion: 'max_rollouts' },
  { name: 'overrides without a wrapper', route: SESSIONS, body: { config_body: simJobBody(), overrides: { 'policy.temprature': 0.5 } }, path: 'overrides.policy.temprature', suggestion: 'temperature' },
  { name: 'a name nothing resembles', route: JOBS, body: withPo((p) => Object.assign(p.policy, { zzzzzzzz: 1 })), path: 'policy_optimization.policy.zzzzzzzz', suggestion: null },
];

describe('unknown fields are a 422 naming the key and the nearest known name', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it.each(cases)('$name', async (c) => {
    const res = await api(t.url, 'POST', c.route, { key: t.key, body: c.body });
    expect(res.status).toBe(422);
    const detail = (res.body.error.details as Detail[]).find((d) => d.path === c.path);
    expect(detail, JSON.stringify(res.body.error.details)).toBeDefined();
    if (c.suggestion !== null) expect(detail!.message).toBe(`unknown field; did you mean ${c.suggestion}?`);
    else expect(detail!.message).toMatch(/^unknown field; known fields here: .*\bmodel\b.*\btemperature\b/);
    expect((await t.server.store.listJobs(t.tenantId, { limit: 100 })).items).toHaveLength(0);
  });

  it('refuses keys named like the members every object inherits (toString, valueOf, constructor...)', async () => {
    // They passed as known fields (the schema's shape inherits them) and were stored in the config unread.
    const bodies: Array<[string, unknown, string]> = [
      [JOBS, withPo((p) => Object.assign(p.policy, { toString: 1 })), 'policy_optimization.policy.toString'],
      [JOBS, withPo((p) => Object.assign(p.mipro, { hasOwnProperty: 1 })), 'policy_optimization.mipro.hasOwnProperty'],
      [JOBS, withPo((p) => Object.assign(p.mipro.proposer, { valueOf: 1 })), 'policy_optimization.mipro.proposer.valueOf'],
      [JOBS, { ...simJobBody(), isPrototypeOf: 1 }, 'isPrototypeOf'],
      [JOBS, withPo((p) => Object.assign(p, { constructor: 1 })), 'policy_optimization.constructor'],
      [SESSIONS, { config_body: simJobBody(), overrides: { 'policy_optimization.policy.toString': 1 } }, 'overrides.policy_optimization.policy.toString'],
    ];
    for (const [route, body, path] of bodies) {
      const res = await api(t.url, 'POST', route, { key: t.key, body });
      expect(res.status, path).toBe(422);
      expect(res.body.error.details, path).toEqual(expect.arrayContaining([{ path, message: expect.stringMatching(/^unknown field/) }]));
    }
    expect((await t.server.store.listJobs(t.tenantId, { limit: 100 })).items).toHaveLength(0);
  });

  it('a misspelled required field is reported as unknown as well as missing', async () => {
    const body = withPo((p) => {
      const { online_pool: pool, ...rest } = p.mipro;
      p.mipro = { ...rest, online_pol: pool } as never;
    });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual(expect.arrayContaining([
      { path: 'policy_optimization.mipro.online_pol', message: 'unknown field; did you mean online_pool?' },
      { path: 'policy_optimization.mipro.online_pool', message: expect.any(String) },
    ]));
  });

  it('a required field left out (or misspelled) says "is required", whatever its type', async () => {
    // A misspelled online_rollouts_per_candidate used to be reported as "must be an integer >= 1"
    // beside "unknown field", as if a value had been sent.
    const body = withPo((p) => {
      const { online_rollouts_per_candidate: perCandidate, online_proposer_mode: _mode, ...rest } = p.mipro;
      p.mipro = { ...rest, online_rollouts_per_candidat: perCandidate } as never;
      delete (p.policy as Record<string, unknown>).provider;
    });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual(expect.arrayContaining([
      { path: 'policy_optimization.mipro.online_rollouts_per_candidat', message: 'unknown field; did you mean online_rollouts_per_candidate?' },
      { path: 'policy_optimization.mipro.online_rollouts_per_candidate', message: 'is required; it must be an integer >= 1' },
      { path: 'policy_optimization.mipro.online_proposer_mode', message: 'is required; it must be "inline" (the only supported proposer mode)' },
      { path: 'policy_optimization.policy.provider', message: expect.stringMatching(/^is required; it must be one of: openai, /) },
    ]));
    // A value of the wrong type keeps saying what the value must be.
    const wrong = await api(t.url, 'POST', JOBS, { key: t.key, body: withPo((p) => Object.assign(p.mipro, { online_rollouts_per_candidate: 'ten' })) });
    expect(wrong.body.error.details).toEqual([{ path: 'policy_optimization.mipro.online_rollouts_per_candidate', message: 'must be an integer >= 1' }]);
  });

  it('accepts the public API fields miprox does not use (docs/API.md lists them)', async () => {
    const body = {
      config_body: withPo((p) => {
        Object.assign(p, { task_app_id: 'app_1', initial_prompt: { id: 'p1', name: 'banking', messages: [{ role: 'system', pattern: 'Classify {query}', order: 0 }], wildcards: { query: 'REQUIRED' } } });
        Object.assign(p.policy, { inference_mode: 'synth_hosted' });
        Object.assign(p.mipro.proposer, { generate_at_iterations: [0, 1] });
      }),
      kind: 'mipro_online', technique: 'discrete_optimization', agent_id: 'agent-1', system: { name: 'banking' },
      auto_start: true, metadata: { team: 'a' }, correlation_id: 'c-1',
    };
    const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const legacy = await api(t.url, 'POST', '/api/prompt-learning/online/jobs', {
      key: t.key, body: { algorithm: 'mipro', config_body: { prompt_learning: simJobBody().policy_optimization }, overrides: { 'prompt_learning.mipro.max_rollouts': 7 }, auto_start: true },
    });
    expect(legacy.status, JSON.stringify(legacy.body)).toBe(200);
  });

  it('a body naming only config_path or config_name says to send the contents', async () => {
    for (const ref of ['config_path', 'config_name']) {
      const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { [ref]: './mipro.toml' } });
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([{ path: ref, message: expect.stringMatching(/send its contents as config_body/) }]);
    }
  });
});
