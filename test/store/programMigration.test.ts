import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect } from '../../src/store/migrations.js';
import { generateApiKey, hashApiKey } from '../../src/api/auth.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { type FakeUpstream, startFakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { openOldDatabaseWithEnv } from '../helpers/oldDatabase.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';
import { exportedProgram } from '../../src/sdk/wire.js';

const NOW = '2026-11-01T00:00:00.000Z';
/** A job config as the previous release stored it: no modules, no max_modules. */
function oldConfig(initialPrompt: string | null): string {
  const body = seedJobBody(initialPrompt === null ? {} : { initialPrompt });
  const config = JSON.parse(JSON.stringify(body.policy_optimization)) as { mipro: Record<string, unknown>; policy: Record<string, unknown> };
  config.mipro.online_proposer_max_candidates = 20;
  config.mipro.val_seeds = [100, 101, 102];
  return JSON.stringify(config);
}

/** Rows exactly as release 0002 wrote them: jobs with and without a baseline, a proposal's child, rewarded rollouts. */
async function writeOldRelease(db: Kysely<unknown>): Promise<void> {
  const run = (q: ReturnType<typeof sql>) => q.execute(db);
  await run(sql`insert into tenants (id, name, created_at) values ('ten_old', 'old', ${NOW})`);
  const job = (id: string, system: string, config: string, baseline: string | null) => run(sql`insert into jobs (id, tenant_id, system_id,
      status, config, baseline_instruction, correlation_id, metadata, dataset_summary, event_seq, proposal_seq, rollout_count,
      reward_count, rewards_since_proposal, best_candidate_id, created_at, updated_at)
    values (${id}, 'ten_old', ${system}, 'running', ${config}, ${baseline}, null, '{}', null, 0, 1, 1, 1, 0,
      ${baseline === null ? null : 'baseline'}, ${NOW}, ${NOW})`);
  const candidate = (jobId: string, id: string, parent: string | null, instruction: string, ordinal: number) => run(sql`insert into candidates
      (job_id, id, parent_id, status, instruction, tip, proposal_id, ordinal, dispatches, online_n, online_mean, online_m2,
       unit_rewards, val_n, val_mean, val_m2, created_at, retired_at)
    values (${jobId}, ${id}, ${parent}, 'active', ${instruction}, null, null, ${ordinal}, 1, 1, 1, 0, 1, 0, 0, 0, ${NOW}, null)`);
  await job('pl_old_declared', 'sys_old_declared', oldConfig('Classify the intent.'), 'Classify the intent.');
  await job('pl_old_captured', 'sys_old_captured', oldConfig(null), 'Captured prompt.');
  await job('pl_old_empty', 'sys_old_empty', oldConfig(null), null);
  await candidate('pl_old_declared', 'baseline', null, 'Classify the intent.', 0);
  await candidate('pl_old_declared', 'cand_old', 'baseline', 'Classify the intent, carefully.', 1);
  // The previous release let a proposal add a `{word}` and sent it literally.
  await candidate('pl_old_declared', 'cand_braces', 'baseline', 'Classify the intent in the style {style}.', 2);
  await candidate('pl_old_captured', 'baseline', null, 'Captured prompt.', 0);
  await run(sql`insert into rollouts (job_id, id, candidate_id, seed, split, correlation_id, status, input_messages, output_text,
      latency_ms, usage, call_count, reward, created_at, updated_at)
    values ('pl_old_declared', 'r_old', 'cand_old', 3, 'online', null, 'completed', '[{"role":"user","content":"lost card"}]',
      'card_lost', 12, null, 1, 1, ${NOW}, ${NOW})`);
  await run(sql`insert into proposals (job_id, id, seq, parent_id, tip, status, prompt, response, error, candidate_ids, lease_until,
      created_at, finished_at) values ('pl_old_declared', 'prop_old', 1, 'baseline', 'none', 'succeeded', '[]', null, null,
      '["cand_old"]', ${NOW}, ${NOW}, ${NOW})`);
}

/**
 * A database created by the previous release opens as programs: every job that knew its baseline
 * has module `main`, every candidate is a one-module program, every recorded call is call 1, and
 * the proxy serves the old jobs as before. On SQLite and PostgreSQL.
 */
describe.each<Dialect>(['sqlite', 'postgres'])('migrating a database of the previous release (%s)', (dialect) => {
  let fake: FakeUpstream;
  let t: TestServer;
  const schema = uniqueSchema('mig');
  beforeAll(async () => {
    fake = await startFakeUpstream({ reply: 'ok' });
    const { db, env } = await openOldDatabaseWithEnv(dialect, schema, '0002_partial_rollout_indexes');
    await writeOldRelease(db);
    await db.destroy();
    t = await startTestServer({ db: 'sqlite', env: { ...env, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url } });
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
    if (dialect === 'postgres') await dropPostgresSchema(PG_URL, schema);
  });

  it('turns every job, candidate, proposal and call into the one-module program main', async () => {
    const store = t.server.store;
    expect(await store.listModules('pl_old_declared')).toEqual([{ name: 'main', template: 'Classify the intent.', ordinal: 0, origin: 'declared' }]);
    expect(await store.listModules('pl_old_captured')).toEqual([{ name: 'main', template: 'Captured prompt.', ordinal: 0, origin: 'discovered' }]);
    expect(await store.listModules('pl_old_empty')).toEqual([]);
    const candidates = await store.listCandidates('pl_old_declared');
    expect(candidates.map((c) => [c.id, c.module, c.instructions, c.online.n])).toEqual([
      ['baseline', null, { main: 'Classify the intent.' }, 1],
      ['cand_old', 'main', { main: 'Classify the intent, carefully.' }, 1],
      ['cand_braces', 'main', { main: 'Classify the intent in the style {style}.' }, 1],
    ]);
    expect((await store.listCandidates('pl_old_empty')).map((c) => c.id)).toEqual(['baseline']);
    expect((await store.listProposals('pl_old_declared', 5))[0]?.module).toBe('main');
    const calls = await store.rolloutCalls('pl_old_declared', ['r_old']);
    expect(calls).toMatchObject([{ seq: 1, module: 'main', outputText: 'card_lost', inputMessages: [{ role: 'user', content: 'lost card' }] }]);
    expect((await store.getJob('pl_old_declared'))?.config.mipro.max_modules).toBe(8);
  });

  it('keeps serving the old jobs through the proxy, and a job still waiting for its first call discovers it', async () => {
    const chat = (system: string, rollout: string, content: string) => api(t.url, 'POST', `/api/mipro/v1/${system}/${rollout}/chat/completions`, {
      body: { model: 'x', messages: [{ role: 'system', content }, { role: 'user', content: 'q' }] },
    });
    const expected: Record<string, string> = {
      baseline: 'Classify the intent.', cand_old: 'Classify the intent, carefully.',
      cand_braces: 'Classify the intent in the style {style}.', // still literal, never a 422 after dispatch
    };
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 3; i++) {
      const old = await chat('sys_old_declared', i === 0 ? 'r_new' : `r_new${i}`, 'Classify the intent.');
      expect(old.status).toBe(200);
      const served = old.headers.get('x-mipro-candidate-id') ?? '';
      seen.add(served);
      expect(systemPromptOf(fake.requests.at(-1)!)).toBe(expected[served]);
    }
    expect(seen).toEqual(new Set(Object.keys(expected)));
    expect((await chat('sys_old_empty', 'r_first', 'A brand new prompt.')).status).toBe(200);
    expect((await t.server.store.listModules('pl_old_empty')).map((m) => [m.name, m.template])).toEqual([['m1', 'A brand new prompt.']]);
    await waitFor(async () => (await t.server.store.rolloutCalls('pl_old_declared', ['r_new'])).length === 1);
    expect((await t.server.store.rolloutCalls('pl_old_declared', ['r_new']))[0]?.module).toBe('main');
  });

  it('exports an old candidate\'s literal {word} as text: no placeholder the proxy never fills, no DSPy field for it', async () => {
    // The old tenant's own key: the export route reads the job as its tenant.
    const { key, prefix } = generateApiKey();
    await t.server.store.createApiKey({ tenantId: 'ten_old', name: 'test', keyHash: hashApiKey(key), prefix });
    const exported = async (format: string) => {
      const res = await api(t.url, 'GET', `/api/policy-optimization/online/jobs/pl_old_declared/export?format=${format}&candidate_id=cand_braces`, { key });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    // The proxy sends `{style}` as written (the test above): the module's template has no placeholder.
    const json = await exported('json');
    expect(json.modules).toMatchObject([{ name: 'main', template: 'Classify the intent in the style {style}.', placeholders: [] }]);
    // A DSPy field for it would be applied by position onto the user's first input field.
    const dspy = await exported('dspy');
    expect(dspy.main.signature).toEqual({ instructions: 'Classify the intent in the style {style}.', fields: [] });
  });

  it('warm-starts an old candidate\'s literal {word} into a new job: text sent as written, no "added placeholder" 422', async () => {
    const { key, prefix } = generateApiKey();
    await t.server.store.createApiKey({ tenantId: 'ten_old', name: 'test-warm', keyHash: hashApiKey(key), prefix });
    const exported = await api(t.url, 'GET', '/api/policy-optimization/online/jobs/pl_old_declared/export?format=json&candidate_id=cand_braces', { key });
    expect(exported.status, JSON.stringify(exported.body)).toBe(200);
    // The job the user moves to: the same prompt, declared.
    const created = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key, body: seedJobBody({ initialPrompt: 'Classify the intent.' }) });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const next = created.body as { job_id: string; system_id: string };
    const status = (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${next.job_id}`, { key })).body;
    const res = await api(t.url, 'POST', `/api/systems/${next.system_id}/candidates`, { key, body: exportedProgram(exported.body, status) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.instructions).toEqual({ main: 'Classify the intent in the style {style}.' });
    // Served as written, like the old job serves it.
    const seen = new Set<string>();
    for (let i = 0; i < 40 && !seen.has(res.body.candidate_id); i++) {
      const call = await api(t.url, 'POST', `/api/mipro/v1/${next.system_id}/w${i}/chat/completions`, {
        body: { model: 'x', messages: [{ role: 'system', content: 'Classify the intent.' }, { role: 'user', content: 'q' }] },
      });
      expect(call.status).toBe(200);
      const served = call.headers.get('x-mipro-candidate-id') ?? '';
      seen.add(served);
      if (served === res.body.candidate_id) expect(systemPromptOf(fake.requests.at(-1)!)).toBe('Classify the intent in the style {style}.');
    }
    expect(seen.has(res.body.candidate_id)).toBe(true);
  });
});
