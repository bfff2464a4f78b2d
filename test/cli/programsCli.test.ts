import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { runCli } from '../helpers/childServer.js';
import { mirroredDiscovery } from '../helpers/programs.js';
import { type TestServer, PIPELINE_MODULES, addCandidates, pipelineCalls, pipelineJobBody, simJobBody, startTestServer } from '../helpers/server.js';

// Every case spawns the CLI (through tsx when not built), which takes seconds on a busy 2-core machine.
const SLOW = 120_000;

describe('miprox candidates / jobs show on a program of several modules (child process)', () => {
  let t: TestServer;
  let env: Record<string, string>;
  let jobId: string;
  beforeAll(async () => {
    t = await startTestServer();
    env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key };
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    jobId = (await jobs.create(pipelineJobBody())).job_id;
    const session = await jobs.session(jobId);
    const rollout = await session.nextRollout();
    await pipelineCalls(rollout.chat_completions_url);
    await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: 1 } });
    await addCandidates(t.server.store, jobId, ['cand_answer_1'], 'answer');
    await addCandidates(t.server.store, jobId, ['cand_extract_1'], 'extract');
  });
  afterAll(async () => t.close());

  it('candidates shows the module each candidate changed; --json carries the whole program', async () => {
    const res = await runCli(['candidates', jobId], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CANDIDATE_ID\s+STATUS\s+PARENT\s+MODULE\s+ROLLOUTS/);
    // The baseline changed nothing; each child names its module, then shows that module's new text.
    expect(res.stdout).toMatch(/^baseline\s+active\s+-\s+-\s+1\s+1\s/m);
    expect(res.stdout).toMatch(/^cand_answer_1\s+active\s+baseline\s+answer\s+0\s+0\s.*Instruction cand_answer_1$/m);
    expect(res.stdout).toMatch(/^cand_extract_1\s+active\s+baseline\s+extract\s+0\s+0\s.*Instruction cand_extract_1$/m);

    const json = await runCli(['candidates', jobId, '--json'], env);
    const items = JSON.parse(json.stdout) as Array<{ candidate_id: string; module: string | null; instructions: Record<string, string> }>;
    expect(items.find((c) => c.candidate_id === 'cand_answer_1')).toMatchObject({
      module: 'answer', instructions: { extract: PIPELINE_MODULES[0].template, answer: 'Instruction cand_answer_1' },
    });
    expect(items.find((c) => c.candidate_id === 'baseline')).toMatchObject({ module: null });
  }, SLOW);

  /** The dashboard filters the leaderboard by module; the CLI listed every module's candidates together. */
  it('candidates --module keeps the candidates that changed that module, and the baseline', async () => {
    const res = await runCli(['candidates', jobId, '--module', 'answer'], env);
    expect([res.code, res.stderr]).toEqual([0, '']);
    expect(res.stdout).toMatch(/^baseline\s/m);
    expect(res.stdout).toMatch(/^cand_answer_1\s+active\s+baseline\s+answer\s/m);
    expect(res.stdout).not.toContain('cand_extract_1');
    const json = await runCli(['candidates', jobId, '--module', 'extract', '--limit', '1', '--sort', 'created_at:desc', '--json'], env);
    expect((JSON.parse(json.stdout) as Array<{ candidate_id: string }>).map((c) => c.candidate_id)).toEqual(['cand_extract_1']);
    // A name of no module would list the baseline alone, read as "nothing changed it": refused, naming the modules.
    const typo = await runCli(['candidates', jobId, '--module', 'anwser'], env);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain('--module anwser: not a module of this job (modules: extract, answer)');
  }, SLOW);

  it('ends quietly when the reader closes the pipe early (| head), with no EPIPE stack trace', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'miprox.js');
    // `true` exits without reading, so every write of the CLI meets a closed pipe.
    // Not spawnSync: the test server answering the CLI runs in this process.
    const proc = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" "${bin}" candidates ${jobId} | true`], { env: { ...process.env, ...env } });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, SLOW);

  it('jobs show prints the modules and the best program module by module', async () => {
    const res = await runCli(['jobs', 'show', jobId], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^modules:\n {2}extract\s+declared\s+Extract the entities\.\n {2}answer\s+declared\s+Answer from this context: \{context\}$/m);
    expect(res.stdout).toContain('best program (baseline):\n  extract:\n    Extract the entities.\n  answer:\n    Answer from this context:\n    {context}\n');
    // The one-prompt view would have shown only the first module: it is not printed for a program.
    expect(res.stdout).not.toContain('best prompt:');
    expect(res.stdout).toMatch(/^CANDIDATE_ID\s+STATUS\s+PARENT\s+MODULE\s/m);
    const json = await runCli(['jobs', 'show', jobId, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({
      modules: PIPELINE_MODULES.map((m) => ({ ...m, origin: 'declared' })),
      best_program: { extract: PIPELINE_MODULES[0].template, answer: PIPELINE_MODULES[1].template },
    });
  }, SLOW);

  /**
   * `jobs show` said "2 system texts matched no module ... (mipro.module.unmatched events)", and the
   * CLI had no way to list those events: a user whose prompt had drifted from its template (a period
   * left out) could not find out which call, nor which module it missed.
   */
  it('jobs show lists the texts that matched no module, with the module each nearly follows and where it leaves it', async () => {
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    const job = await jobs.create(pipelineJobBody());
    for (const [i, system] of ['Extract the entities', 'Something else entirely.'].entries()) {
      const res = await fetch(`${job.proxy_url}/u${i}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', messages: [{ role: 'system', content: system }, { role: 'user', content: 'hi' }] }) });
      expect(res.headers.get('x-mipro-unmatched')).toBe('true');
    }
    const session = await jobs.session(job.job_id);
    for (let i = 0; i < 100 && (await session.events({ eventType: 'mipro.module.unmatched' })).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const res = await runCli(['jobs', 'show', job.job_id], env);
    expect([res.code, res.stderr]).toEqual([0, '']);
    expect(res.stdout).toMatch(/^unmatched\s+2 system texts matched no module and passed through unchanged \(listed below; mipro\.module\.unmatched events\)$/m);
    expect(res.stdout).toContain([
      'texts that matched no module (all; their calls went upstream unoptimized):',
      '  "Extract the entities" (20 characters)',
      '    closest module extract: at character 21 the template has "." where the text ends',
      '  "Something else entirely." (24 characters)',
      '    no declared module comes close',
    ].join('\n'));
  }, SLOW);

  /**
   * An app that sent each stage of its runs to the bare proxy URL got one rollout per call, and jobs
   * show said nothing: its `mipro.rollout.per_call` event is now a line of the job's header.
   */
  it('jobs show says when a program\'s calls came without a rollout id, and how to tie a run\'s calls together', async () => {
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    const job = await jobs.create(pipelineJobBody());
    await pipelineCalls(`${job.proxy_url}/chat/completions`);
    const session = await jobs.session(job.job_id);
    for (let i = 0; i < 100 && (await session.events({ eventType: 'mipro.rollout.per_call' })).length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    const res = await runCli(['jobs', 'show', job.job_id], env);
    expect([res.code, res.stderr]).toEqual([0, '']);
    expect(res.stdout).toMatch(/^per-call rollouts\s+calls of modules extract and answer came without a rollout id, each a rollout of its own: .*per-rollout URL .*\(mipro\.rollout\.per_call event\)$/m);
    // A program whose runs each name their rollout (the job of the other cases) has no such line.
    const named = await runCli(['jobs', 'show', jobId], env);
    expect(named.stdout).not.toContain('per-call rollouts');
  }, SLOW);

  it('prints texts from clients and models with their control characters neutralised (no terminal escapes)', async () => {
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    const hostile = (await jobs.create({ ...pipelineJobBody(), name: 'evil \u001b]0;pwned\u0007 \u001b[2J name' })).job_id;
    await addCandidates(t.server.store, hostile, ['cand_esc'], 'answer');
    for (const args of [['jobs', 'show', hostile], ['jobs', 'list'], ['candidates', hostile, '--full']]) {
      const res = await runCli(args, env);
      expect(res.code).toBe(0);
      expect(res.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      if (args[0] === 'jobs') expect(res.stdout).toContain('evil \ufffd]0;pwned\ufffd \ufffd[2J name');
    }
    const json = await runCli(['jobs', 'show', hostile, '--json'], env);
    expect(JSON.parse(json.stdout).name).toBe('evil \u001b]0;pwned\u0007 \u001b[2J name'); // JSON keeps the text, escaped
  }, SLOW);

  it('jobs show and jobs export take the session id as candidates does', async () => {
    const sessionId = (await new MiproJobsClient({ backendUrl: t.url, apiKey: t.key }).session(jobId)).sessionId;
    expect(sessionId.startsWith('pl_')).toBe(false);
    const shown = await runCli(['jobs', 'show', sessionId, '--json'], env);
    expect([shown.code, shown.stderr]).toEqual([0, '']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ job_id: jobId });
    const exported = await runCli(['jobs', 'export', sessionId, '--candidate', 'baseline'], env);
    expect([exported.code, exported.stderr]).toEqual([0, '']);
    expect(JSON.parse(exported.stdout)).toMatchObject({ job_id: jobId, candidate_id: 'baseline' });
    const unknown = await runCli(['jobs', 'show', 'sys_nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('miprox: not found (404): no job or session sys_nope');
  }, SLOW);

  it('jobs promote ends the job serving a candidate; jobs export writes it as the proxy renders it', async () => {
    const promoted = await runCli(['jobs', 'promote', jobId, 'cand_answer_1'], env);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toBe(`job ${jobId}: succeeded, serving cand_answer_1\n`);
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-export-')), 'program.json');
    const exported = await runCli(['jobs', 'export', jobId, '-o', file], env);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain(`wrote cand_answer_1 (json) to ${file}`);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { candidate_id: string; served: boolean; modules: { name: string; template: string; changed: boolean }[] };
    expect(doc).toMatchObject({ candidate_id: 'cand_answer_1', served: true });
    expect(doc.modules.map((m) => [m.name, m.template, m.changed])).toEqual([
      [PIPELINE_MODULES[0]!.name, PIPELINE_MODULES[0]!.template, false], ['answer', 'Instruction cand_answer_1', true],
    ]);
    const messages = await runCli(['jobs', 'export', jobId, '--format', 'messages', '--candidate', 'baseline'], env);
    expect(JSON.parse(messages.stdout).modules.answer).toEqual([{ role: 'system', content: PIPELINE_MODULES[1]!.template }]);
    const dspyFile = join(mkdtempSync(join(tmpdir(), 'miprox-export-')), 'program.json');
    const dspy = await runCli(['jobs', 'export', jobId, '--format', 'dspy', '-o', dspyFile], env);
    expect(dspy.code, dspy.stderr).toBe(0);
    expect(dspy.stderr).toContain(`wrote cand_answer_1 (dspy) to ${dspyFile}`);
    const state = JSON.parse(readFileSync(dspyFile, 'utf8')) as Record<string, { signature?: { instructions: string } }>;
    expect(state.answer?.signature?.instructions).toBe('Instruction cand_answer_1');
    expect(Object.keys(state)).toContain('metadata');
    const bad = await runCli(['jobs', 'export', jobId, '--format', 'yaml'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/json, messages, dspy/);
  }, SLOW);

  /**
   * `jobs promote ID best` takes `best`, and a cancelled job serves (so exports by default) the
   * baseline: `jobs export ID --candidate best` is how to take out its champion after a cancel, and it
   * was a 404 ("candidate best not found"), leaving the user to read the id off `jobs show`.
   */
  it('jobs export --candidate best exports the best candidate, also of a cancelled job that serves the baseline', async () => {
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    const id = (await jobs.create(pipelineJobBody())).job_id;
    await addCandidates(t.server.store, id, ['cand_best_1'], 'answer');
    const session = await jobs.session(id);
    // online_rollouts_per_candidate is 10: a candidate is the champion once it has that many rewards.
    for (let i = 0; i < 12; i++) {
      await session.updateReward({ rolloutId: `won_${i}`, candidateId: 'cand_best_1', rewardInfo: { score: 1 } });
      await session.updateReward({ rolloutId: `lost_${i}`, candidateId: 'baseline', rewardInfo: { score: 0 } });
    }
    await jobs.cancel(id);
    expect((await jobs.get(id)).best_candidate_id).toBe('cand_best_1');
    const served = await runCli(['jobs', 'export', id], env);
    expect(JSON.parse(served.stdout)).toMatchObject({ candidate_id: 'baseline', served: true });
    const best = await runCli(['jobs', 'export', id, '--candidate', 'best'], env);
    expect([best.code, best.stderr]).toEqual([0, '']);
    expect(JSON.parse(best.stdout)).toMatchObject({ job_id: id, candidate_id: 'cand_best_1', served: false });
  }, SLOW);

  it('add-candidate adds one module\'s prompt, or a whole program from a jobs export file, to another job', async () => {
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    const next = (await jobs.create(pipelineJobBody())).job_id;
    const answer = 'Answer briefly, from this context only:\n{context}';
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-program-')), 'program.json');
    writeFileSync(file, JSON.stringify({
      job_id: jobId, candidate_id: 'cand_x', format: 'json', served: true, modules: [
        { name: 'extract', template: PIPELINE_MODULES[0].template, placeholders: [], baseline_template: PIPELINE_MODULES[0].template, changed: false },
        {
          name: 'answer', template: answer, placeholders: ['context'], baseline_template: PIPELINE_MODULES[1].template, changed: true,
          demos: [{ input: [{ role: 'user', content: 'Where is Paris?' }], output: 'In France.', rollout_id: 'r9', variables: { context: 'Paris is in France.' } }],
        },
      ],
    }));
    const added = await runCli(['add-candidate', next, '--program', file, '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    // The file's demos come along: the program is imported as exported.
    expect(JSON.parse(added.stdout)).toMatchObject({
      module: 'answer', instructions: { extract: PIPELINE_MODULES[0].template, answer },
      demos: { answer: [{ input: [{ role: 'user', content: 'Where is Paris?' }], output: 'In France.', variables: { context: 'Paris is in France.' } }] },
    });
    expect(added.stderr).toBe('');
    // An export that left out old demos no import takes (demos_left_out) says so on stderr; stdout stays JSON.
    const partial = JSON.parse(readFileSync(file, 'utf8'));
    partial.modules[1].demos_left_out = [{ index: 0, rollout_id: 'r1', reason: 'its input does not end on a user turn' }, { index: 2, rollout_id: 'r3', reason: 'its input does not end on a user turn' }];
    const partialFile = join(mkdtempSync(join(tmpdir(), 'miprox-program-')), 'partial.json');
    writeFileSync(partialFile, JSON.stringify(partial));
    const warned = await runCli(['add-candidate', (await jobs.create(pipelineJobBody())).job_id, '--program', partialFile, '--json'], env);
    expect(warned.code, warned.stderr).toBe(0);
    expect(JSON.parse(warned.stdout)).toMatchObject({ module: 'answer' });
    expect(warned.stderr).toBe(`note: ${partialFile} left out 2 demos of module answer that no import takes (its input does not end on a user turn); the candidate has the others\n`);
    // A job that takes no demos: the file as it is is refused, --no-demos imports the instructions only.
    const noDemoJob = (await jobs.create(pipelineJobBody({ max_demos: 0 }))).job_id;
    const withDemos = await runCli(['add-candidate', noDemoJob, '--program', file], env);
    expect([withDemos.code, withDemos.stderr]).toEqual([1, expect.stringMatching(/demos\.answer: holds 1 demos: this job's mipro\.max_demos is 0/)]);
    const instructionsOnly = await runCli(['add-candidate', noDemoJob, '--program', file, '--no-demos', '--json'], env);
    expect(instructionsOnly.code, instructionsOnly.stderr).toBe(0);
    expect(JSON.parse(instructionsOnly.stdout)).toMatchObject({ module: 'answer', demos: {} });
    const one = await runCli(['add-candidate', next, '--module', 'extract', '--instruction', 'Extract every entity.'], env);
    expect([one.code, one.stdout]).toEqual([0, expect.stringMatching(/^added cand_\w+ \(module extract\)\n$/)]);
    // The server's 422 names the module's field; a file that is no json export is said to be one.
    const refused = await runCli(['add-candidate', next, '--module', 'answer', '--instruction', 'No placeholder.'], env);
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/instruction: missing placeholder \{context\}/)]);
    // Options that do not go together are a usage error, not silently dropped.
    const both = await runCli(['add-candidate', next, '--program', file, '--module', 'extract'], env);
    expect([both.code, both.stderr]).toEqual([1, expect.stringMatching(/--module goes with --instruction/)]);
    const stray = await runCli(['add-candidate', next, '--module', 'extract', '--instruction', 'Extract.', '--no-demos'], env);
    expect([stray.code, stray.stderr]).toEqual([1, expect.stringMatching(/--no-demos goes with --program/)]);
    writeFileSync(file, '{"format":"messages"}');
    const notExport = await runCli(['add-candidate', next, '--program', file], env);
    expect([notExport.code, notExport.stderr]).toEqual([1, expect.stringMatching(/is not a program exported with format json/)]);
    expect((await jobs.get(next)).candidates).toHaveLength(3);
  }, SLOW);

  it('add-candidate --program puts each module\'s text on the job\'s module of the same prompt, whatever discovery named it', async () => {
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    const { first, next, better, candidateId } = await mirroredDiscovery(jobs, simJobBody());
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-program-')), 'program.json');
    writeFileSync(file, JSON.stringify(await jobs.export(first, { candidateId })));
    const res = await runCli(['add-candidate', next, '--program', file, '--json'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ module: 'm2', changed_modules: ['m2'], instructions: { m1: 'Answer the query.', m2: better } });
  }, SLOW);
});
