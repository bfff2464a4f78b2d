import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, MiproJobsClient, ValidationError, exportedInstructions, exportedProgram } from '../../src/sdk/index.js';
import { mirroredDiscovery } from '../helpers/programs.js';
import { type TestServer, PIPELINE_MODULES, addCandidates, addModuleCandidates, pipelineCalls, pipelineJobBody, simJobBody, startTestServer } from '../helpers/server.js';

/** After the optimization, through the SDK: promote (and roll back) and export the program. */
describe('SDK: promote and exportPrompt', () => {
  let t: TestServer;
  let jobs: MiproJobsClient;
  beforeAll(async () => {
    t = await startTestServer();
    jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
  });
  afterAll(async () => t.close());

  it('promotes a candidate, exports what is served, rolls back, and refuses a promote after a cancel', async () => {
    const job = await jobs.create(pipelineJobBody());
    await addCandidates(t.server.store, job.job_id, ['cand_a'], 'answer');
    const session = await jobs.session(job.job_id);
    const promoted = await session.promote('cand_a');
    expect(promoted).toMatchObject({ status: 'succeeded', served_candidate_id: 'cand_a' });
    const exported = await session.exportPrompt();
    expect(exported).toMatchObject({ candidate_id: 'cand_a', served: true, format: 'json' });
    const messages = await jobs.export(job.job_id, { format: 'messages', candidateId: 'baseline' });
    expect(messages.modules).toEqual({
      extract: [{ role: 'system', content: PIPELINE_MODULES[0].template }], answer: [{ role: 'system', content: PIPELINE_MODULES[1].template }],
    });
    expect((await jobs.promote(job.job_id, 'baseline')).served_candidate_id).toBe('baseline');

    const other = await jobs.create(pipelineJobBody());
    await jobs.cancel(other.job_id);
    expect((await jobs.get(other.job_id)).served_candidate_id).toBe('baseline');
    await expect(jobs.promote(other.job_id, 'baseline')).rejects.toBeInstanceOf(ConflictError);
  });

  it('keeps nextRollout() working after the job ends: monitoring rollouts of what it serves (split "monitor")', async () => {
    const job = await jobs.create(pipelineJobBody());
    await addCandidates(t.server.store, job.job_id, ['cand_a'], 'answer');
    const session = await jobs.session(job.job_id);
    await session.promote('cand_a');
    // The server hands out monitoring rollouts after the end; the SDK must read them, not throw.
    const rollout = await session.nextRollout();
    expect(rollout).toMatchObject({ split: 'monitor', candidate_id: 'cand_a' });
    const [first] = await pipelineCalls(`${session.rolloutBaseUrl(rollout.rollout_id)}/chat/completions`);
    expect(first!.headers.get('x-mipro-candidate-id')).toBe('cand_a');
    expect(await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: 1 } })).toMatchObject({ split: 'monitor', candidate_id: 'cand_a' });
  });

  it('goes on from a finished job\'s program in a new job: exportedInstructions, then addCandidate', async () => {
    const first = await jobs.create(pipelineJobBody());
    await addModuleCandidates(t.server.store, first.job_id, 'answer', { cand_best: 'Answer briefly, from this context only:\n{context}' });
    const program = exportedInstructions(await jobs.export(first.job_id, { candidateId: 'cand_best' }));
    expect(program).toEqual({ extract: PIPELINE_MODULES[0].template, answer: 'Answer briefly, from this context only:\n{context}' });
    const next = await jobs.session((await jobs.create(pipelineJobBody())).job_id);
    const added = await next.addCandidate({ instructions: program });
    expect(added).toMatchObject({ parent_id: 'baseline', module: 'answer', instructions: program });
    // One module's prompt, SPEC.md's form; a bad one is the server's 422, as a typed error.
    expect((await next.addCandidate({ module: 'extract', instruction: 'Extract every entity.' })).module).toBe('extract');
    await expect(next.addCandidate({ instructions: { nope: 'x' } })).rejects.toBeInstanceOf(ValidationError);
    const messages = await jobs.export(first.job_id, { format: 'messages' });
    expect(() => exportedInstructions(messages)).toThrow(/format=json/);
  });

  it('places an exported program on the target job\'s modules by their prompts when their discovered names differ', async () => {
    // Two jobs that discover the same two prompts in the opposite order: m1 of one is m2 of the other.
    const { first, next, better, candidateId } = await mirroredDiscovery(jobs, simJobBody());
    const exported = await jobs.export(first, { candidateId });
    const session = await jobs.session(next);
    const body = exportedProgram(exported, await session.status());
    expect(body).toEqual({ instructions: { m2: better, m1: 'Answer the query.' } });
    expect(exportedInstructions(exported, await session.status())).toEqual(body.instructions);
    expect(await session.addCandidate(body)).toMatchObject({ module: 'm2', changed_modules: ['m2'], instructions: { m1: 'Answer the query.', m2: better } });
    // A changed prompt the target job has never seen has no place there: said, not put on another module.
    expect(() => exportedProgram(exported, { modules: [{ name: 'm1', template: 'Answer the query.', origin: 'discovered' }] })).toThrow(/^module m1 of the export \(the prompt "Classify the query\."\) is no module of the target job \(modules: m1\)/);
    // Two exported modules that land on one module of the target (m1 by name, declared; m2 by its prompt):
    // two edits are refused, not merged; an unchanged one (its own job's baseline) yields to the edit, in either order.
    const json = exported as unknown as Record<string, unknown> & { modules: Array<Record<string, unknown>> };
    const base = json.modules[0]!;
    const exportOf = (...modules: Array<Record<string, unknown>>) => ({ ...json, modules: modules.map((m) => ({ ...base, demos: [], ...m })) }) as never;
    const target = { modules: [{ name: 'm1', template: 'B.', origin: 'declared' }] };
    const a2 = { name: 'm1', baseline_template: 'A.', template: 'A2.', changed: true };
    const b2 = { name: 'm2', baseline_template: 'B.', template: 'B2.', changed: true };
    expect(() => exportedProgram(exportOf(a2, b2), target)).toThrow(/^modules m1 and m2 of the export both go to module m1 of the target job/);
    const aSame = { name: 'm1', baseline_template: 'A.', template: 'A.', changed: false };
    expect(exportedProgram(exportOf(aSame, b2), target)).toEqual({ instructions: { m1: 'B2.' } });
    expect(exportedProgram(exportOf({ ...b2, name: 'm0' }, aSame), target)).toEqual({ instructions: { m1: 'B2.' } });
    // The same text with other demos is refused too: one of the two demo sets would be dropped.
    const demo = { input: [{ role: 'user', content: 'a' }], output: 'A' };
    const sameText = { baseline_template: 'B.', template: 'B.', changed: true };
    expect(() => exportedProgram(exportOf({ ...sameText, name: 'm1', demos: [demo] }, { ...sameText, name: 'm2' }), target))
      .toThrow(/^modules m1 and m2 of the export both go to module m1 of the target job/);
  });

  it('leaves out an unchanged module whose prompt differs in the target job: it would bring back the old job\'s baseline there', async () => {
    const first = await jobs.create(pipelineJobBody());
    await addModuleCandidates(t.server.store, first.job_id, 'answer', { cand_terse: 'Answer tersely from:\n{context}' });
    const exported = await jobs.export(first.job_id, { candidateId: 'cand_terse' });
    // The app's extract prompt has changed since (with a placeholder, then without one): only the answer edit carries over.
    for (const extract of ['Extract the entities from {query}.', 'Extract every entity, with its type.']) {
      const body = pipelineJobBody();
      const declared = { ...body, policy_optimization: { ...body.policy_optimization, modules: [{ name: 'extract', template: extract }, PIPELINE_MODULES[1]] } };
      const next = await jobs.session((await jobs.create(declared)).job_id);
      const program = exportedProgram(exported, await next.status());
      expect(program).toEqual({ instructions: { answer: 'Answer tersely from:\n{context}' } });
      expect(await next.addCandidate(program)).toMatchObject({ module: 'answer', changed_modules: ['answer'], instructions: { extract, answer: 'Answer tersely from:\n{context}' } });
    }
    // A module whose demos alone changed (a demos_only proposal) carries its demos, not its old job's text.
    const demo = { input: [{ role: 'user' as const, content: 'Who is Ada?' }], output: 'Ada' };
    await addModuleCandidates(t.server.store, first.job_id, 'extract', { cand_demos: PIPELINE_MODULES[0].template }, { cand_demos: [{ ...demo, rolloutId: 'r1' }] });
    const body = pipelineJobBody();
    const extract = 'Extract every entity, with its type.';
    const next = await jobs.session((await jobs.create({ ...body, policy_optimization: { ...body.policy_optimization, modules: [{ name: 'extract', template: extract }, PIPELINE_MODULES[1]] } })).job_id);
    const program = exportedProgram(await jobs.export(first.job_id, { candidateId: 'cand_demos' }), await next.status());
    expect(program).toEqual({ instructions: { answer: PIPELINE_MODULES[1].template }, demos: { extract: [demo] } });
    expect(await next.addCandidate(program)).toMatchObject({ module: 'extract', instructions: { extract }, demos: { extract: [demo] } });
  });

  it('carries the demos too: exportedProgram is the whole warm-start body', async () => {
    const first = await jobs.create(pipelineJobBody());
    // The templated module's demo carries its context: exportedProgram keeps it, the server needs it.
    const demo = { input: [{ role: 'user' as const, content: 'Where is Paris?' }], output: 'France.', rolloutId: 'r1', variables: { context: 'Paris is in France.' } };
    await addModuleCandidates(t.server.store, first.job_id, 'answer', { cand_demo: 'Answer from:\n{context}' }, { cand_demo: [demo] });
    const body = exportedProgram(await jobs.export(first.job_id, { candidateId: 'cand_demo' }));
    expect(body).toEqual({
      instructions: { extract: PIPELINE_MODULES[0].template, answer: 'Answer from:\n{context}' },
      demos: { answer: [{ input: demo.input, output: demo.output, variables: demo.variables }] },
    });
    const next = await jobs.session((await jobs.create(pipelineJobBody())).job_id);
    const added = await next.addCandidate(body);
    expect(added).toMatchObject({ module: 'answer', changed_modules: ['answer'], demos: { answer: [{ input: demo.input, output: 'France.', variables: demo.variables }] } });
    // Without demos the body is the instructions alone, as exportedInstructions gives them.
    expect(exportedProgram(await jobs.export(first.job_id, { candidateId: 'baseline' }))).toEqual({ instructions: exportedInstructions(await jobs.export(first.job_id, { candidateId: 'baseline' })) });
  });
});
