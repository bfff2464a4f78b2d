import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DspyProgramStateSchema } from '../../src/sdk/wire.js';
import { addProgram } from '../helpers/programs.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestDb, type TestServer, addModuleCandidates, api, seedJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';
const MODULES = [
  { name: 'extract', template: 'Extract the entities.' },
  { name: 'answer', template: 'Answer from this context:\n{context}\nfor {user}.' },
];

/** A state file as DSPy 3's `program.save("x.json")` writes it (hand-written in that shape). */
const FIXTURE = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/dspy/saved_program.json', import.meta.url)), 'utf8')) as Record<string, Record<string, unknown>>;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The JSON type of a value, with object keys and the first element of arrays: two states compare by shape. */
function shape(v: unknown): Json {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? ['empty'] : [shape(v[0])];
  if (typeof v === 'object') return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, shape((v as Record<string, unknown>)[k])]));
  return typeof v;
}

/** Ours fits theirs: same object keys and value types all the way down; an empty list fits any list. */
function fits(ours: Json, theirs: Json): boolean {
  if (Array.isArray(ours) && Array.isArray(theirs)) return ours[0] === 'empty' || fits(ours[0]!, theirs[0]!);
  if (ours && theirs && typeof ours === 'object' && typeof theirs === 'object' && !Array.isArray(ours) && !Array.isArray(theirs)) {
    const keys = Object.keys(ours);
    return keys.join() === Object.keys(theirs).join() && keys.every((k) => fits(ours[k]!, theirs[k]!));
  }
  return ours === theirs;
}

/**
 * What DSPy's `Module.load(path)` requires of a state file (dspy/primitives/base_module.py `load`,
 * `load_state`; dspy/predict/predict.py `Predict.load_state`; dspy/signatures/signature.py
 * `load_state`): every dependency version it names is one DSPy looks up (python, dspy, cloudpickle:
 * another key is a KeyError), every predictor of the program has a state, each with `signature`
 * (`instructions`, `fields` of `{prefix, description}`) and `lm`.
 */
function dspyLoadProblems(state: Record<string, unknown>, predictors: readonly string[]): string[] {
  const problems: string[] = [];
  const meta = state.metadata as { dependency_versions?: Record<string, unknown> } | undefined;
  if (!meta?.dependency_versions || typeof meta.dependency_versions !== 'object') problems.push('metadata.dependency_versions missing');
  for (const key of Object.keys(meta?.dependency_versions ?? {})) if (!['python', 'dspy', 'cloudpickle'].includes(key)) problems.push(`unknown dependency ${key}`);
  for (const name of predictors) {
    const p = state[name] as { signature?: { instructions?: unknown; fields?: unknown }; lm?: unknown } | undefined;
    if (!p) { problems.push(`no state for predictor ${name}`); continue; }
    if (!('lm' in p)) problems.push(`${name}.lm missing`);
    if (typeof p.signature?.instructions !== 'string') problems.push(`${name}.signature.instructions is not a string`);
    if (!Array.isArray(p.signature?.fields)) problems.push(`${name}.signature.fields is not a list`);
    for (const f of (p.signature?.fields as unknown[] | undefined) ?? []) {
      const field = f as Record<string, unknown>;
      if (typeof field.prefix !== 'string' || typeof field.description !== 'string') problems.push(`${name}: a field lacks prefix/description`);
    }
  }
  return problems;
}

interface SavedField { prefix: string; description: string }

/**
 * What DSPy's `Signature.load_state` does with a saved `fields` list (dspy/signatures/signature.py):
 * `zip(signature_copy.fields.values(), state["fields"], strict=False)`, each saved entry overwriting
 * the prefix and description of the program's field at the same position; names play no part.
 */
function dspyLoadFields(program: readonly (SavedField & { name: string })[], saved: readonly SavedField[]): (SavedField & { name: string })[] {
  return program.map((f, i) => (i < saved.length ? { name: f.name, prefix: saved[i]!.prefix, description: saved[i]!.description } : { ...f }));
}

describe('DSPy signature fields', () => {
  it('the load simulation applies saved fields by position, as DSPy does', () => {
    const program = [{ name: 'question', prefix: 'Question:', description: '${question}' }, { name: 'answer', prefix: 'Answer:', description: '${answer}' }];
    expect(dspyLoadFields(program, [{ prefix: 'Context:', description: '${context}' }])[0]).toEqual({ name: 'question', prefix: 'Context:', description: '${context}' });
    expect(dspyLoadFields(program, [])).toEqual(program);
  });

  it('the shape check tells shapes apart', () => {
    expect(fits(shape({ a: [], b: 'x' }), shape({ a: [{ p: 1 }], b: 'y' }))).toBe(true);
    expect(fits(shape({ a: [{ q: 1 }] }), shape({ a: [{ p: 1 }] }))).toBe(false);
    expect(fits(shape({ lm: 'x' }), shape({ lm: null }))).toBe(false);
    expect(fits(shape({ a: 1 }), shape({ a: 1, b: 2 }))).toBe(false);
  });

  it('the fixture itself passes the load check (the check is not vacuous)', () => {
    expect(dspyLoadProblems(FIXTURE, ['extract', 'answer'])).toEqual([]);
    expect(dspyLoadProblems({ ...FIXTURE, metadata: { dependency_versions: { miprox: '1' } } }, ['extract', 'missing'])).toEqual(['unknown dependency miprox', 'no state for predictor missing']);
  });
});

describe.each<TestDb>(['sqlite', 'postgres'])('export format=dspy (%s)', (db) => {
  let t: TestServer;
  useFakeUpstreamServer({ db, upstream: { reply: 'ok' } }, (s) => ({ t } = s));

  it('is a DSPy program state: one predictor per module, shaped like a saved DSPy program', async () => {
    const body = seedJobBody();
    Object.assign(body.policy_optimization, { modules: MODULES });
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body })).body as { job_id: string; system_id: string };
    await addProgram(t.server.store, job.job_id, 'cand_d', { answer: 'Use only {context}; answer {user} kindly.' }, 'answer');
    await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_d' } });

    const res = await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=dspy`, { key: t.key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const state = res.body as Record<string, Record<string, unknown>>;
    expect(Object.keys(state).sort()).toEqual(['answer', 'extract', 'metadata']);
    expect(dspyLoadProblems(state, ['extract', 'answer'])).toEqual([]);
    // Same keys and value types as DSPy's own file, predictor by predictor (demos are empty in ours).
    for (const name of ['extract', 'answer']) {
      expect(fits(shape(state[name]), shape(FIXTURE[name])), `${name}: ${JSON.stringify(shape(state[name]))}`).toBe(true);
      expect(state[name]!.demos).toEqual([]);
    }
    expect(Object.keys(state.metadata!.dependency_versions as object).every((k) => k in (FIXTURE.metadata!.dependency_versions as object))).toBe(true);

    // The instructions, verbatim; no saved fields: DSPy would lay them over the program's own fields
    // by position, so a signature "question, context -> answer", or a context field with a
    // description of its own, would be rewritten by a load. The placeholders are named in metadata.
    expect(state.answer!.signature).toEqual({ instructions: 'Use only {context}; answer {user} kindly.', fields: [] });
    expect(state.extract!.signature).toEqual({ instructions: 'Extract the entities.', fields: [] });
    const userProgram = [
      { name: 'question', prefix: 'Question:', description: '${question}' },
      { name: 'context', prefix: 'Context:', description: 'retrieved passages, most relevant first' },
      { name: 'user', prefix: 'User:', description: '${user}' },
      { name: 'answer', prefix: 'Answer:', description: '${answer}' },
    ];
    expect(dspyLoadFields(userProgram, (state.answer!.signature as { fields: SavedField[] }).fields)).toEqual(userProgram);
    expect(state.metadata!.miprox).toMatchObject({
      job_id: job.job_id, candidate_id: 'cand_d', format: 'dspy', served: true, policy: { model: 'gpt-4o-mini' },
      input_fields: { extract: [], answer: ['context', 'user'] },
    });
    expect(DspyProgramStateSchema.safeParse(state).success).toBe(true);

    // Also under the sessions path, for another candidate.
    const baseline = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/export?format=dspy&candidate_id=baseline`, { key: t.key });
    expect((baseline.body.answer as { signature: { instructions: string } }).signature.instructions).toBe(MODULES[1]!.template);
    expect(baseline.body.metadata.miprox).toMatchObject({ candidate_id: 'baseline', served: false });
  });

  it('a templated module\'s demo carries each variable as a field of its demo dict; one named like the dict\'s own keys is a 422', async () => {
    const body = seedJobBody();
    Object.assign(body.policy_optimization, { modules: [{ name: 'answer', template: 'Context: {context}; earlier {output}.' }] });
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body })).body as { job_id: string };
    const input = [{ role: 'user' as const, content: 'Q' }];
    await addModuleCandidates(t.server.store, job.job_id, 'answer', { cand_v: 'Context: {context}; earlier {output}.' }, {
      cand_v: [{ input, output: 'A', rolloutId: 'r1', variables: { context: 'CTX', output: 'EARLIER' } }],
    });
    const res = await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=dspy&candidate_id=cand_v`, { key: t.key });
    expect([res.status, res.body.error?.details]).toEqual([422, [{ path: 'format', message: 'a demo of module "answer" cannot carry its variable "output" as a field beside the demo\'s own "output"; use format=json' }]]);
    const json = await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=json&candidate_id=cand_v`, { key: t.key });
    expect(json.body.modules[0].demos).toEqual([{ input, output: 'A', rollout_id: 'r1', variables: { context: 'CTX', output: 'EARLIER' } }]);
  });

  it('refuses a module named "metadata" (DSPy\'s own key) with a 422 that points to format=json', async () => {
    const body = seedJobBody();
    Object.assign(body.policy_optimization, { modules: [{ name: 'metadata', template: 'Tag it.' }] });
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body })).body as { job_id: string };
    const res = await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=dspy`, { key: t.key });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/metadata/);
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}/export?format=json`, { key: t.key })).status).toBe(200);
  });
});
