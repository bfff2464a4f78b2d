import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  CandidateSchema, JobSchema, MiproJobsClient, NotFoundError, ResponseFormatError, collect, type MiproOnlineSession,
} from '../../src/sdk/index.js';
import { type TestServer, PIPELINE_MODULES, addCandidates, pipelineCalls, pipelineJobBody, startTestServer } from '../helpers/server.js';
import { fakeJob, startScriptedServer } from './helpers.js';

/** The program fields of the wire views, read through the SDK from a real server (sim provider). */
describe('SDK: programs (modules, per-module candidates, rollout records)', () => {
  let t: TestServer;
  let jobs: MiproJobsClient;
  let session: MiproOnlineSession;
  let jobId: string;
  let rolloutId: string;
  beforeAll(async () => {
    t = await startTestServer();
    jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    const job = await jobs.create(pipelineJobBody());
    jobId = job.job_id;
    session = await jobs.session(jobId);
    const rollout = await session.nextRollout();
    rolloutId = rollout.rollout_id;
    for (const res of await pipelineCalls(rollout.chat_completions_url)) expect(res.status).toBe(200);
    await session.updateReward({ rolloutId, rewardInfo: { score: 1 } });
    await addCandidates(t.server.store, jobId, ['cand_answer_1'], 'answer');
  });
  afterAll(async () => t.close());

  it('a job carries its modules and the best program', async () => {
    const job = await jobs.get(jobId);
    expect(job.modules).toEqual(PIPELINE_MODULES.map((m) => ({ ...m, origin: 'declared' })));
    expect(job.best_candidate_id).toBe('baseline');
    expect(job.best_program).toEqual({ extract: PIPELINE_MODULES[0].template, answer: PIPELINE_MODULES[1].template });
    // The one-prompt field stays: the first module's text.
    expect(job.best_prompt).toBe(PIPELINE_MODULES[0].template);
  });

  it('candidates are programs and name the module they changed', async () => {
    const all = await collect(session.iterateCandidates());
    const baseline = all.find((c) => c.candidate_id === 'baseline');
    const child = all.find((c) => c.candidate_id === 'cand_answer_1');
    expect(baseline).toMatchObject({ module: null, instructions: { extract: PIPELINE_MODULES[0].template, answer: PIPELINE_MODULES[1].template } });
    expect(child).toMatchObject({
      module: 'answer', instruction: 'Instruction cand_answer_1',
      // The child changed `answer` only; `extract` is still the template.
      instructions: { extract: PIPELINE_MODULES[0].template, answer: 'Instruction cand_answer_1' },
    });
    expect(Object.keys(child?.instructions ?? {})).toEqual(['extract', 'answer']);
    expect((await session.getCandidate('cand_answer_1')).module).toBe('answer');
    const jobCandidates = (await jobs.get(jobId)).candidates ?? [];
    expect(jobCandidates.map((c) => c.module)).toEqual([null, 'answer']);
  });

  it('proposals name their module; seed evaluations the module of each call', async () => {
    expect((await session.proposals()).map((p) => p.module)).toEqual(['answer']);
    const evals = await session.listSeedEvals({ candidateId: 'baseline' });
    expect(evals.items).toEqual([expect.objectContaining({ rollout_id: rolloutId, modules: ['extract', 'answer'] })]);
  });

  it('getRollout returns every call with its module and variables, by system id or job id', async () => {
    const record = await session.getRollout(rolloutId);
    expect(record).toMatchObject({ rollout_id: rolloutId, candidate_id: 'baseline', status: 'completed', reward: 1, call_count: 2 });
    expect(record.calls.map((c) => [c.seq, c.module, c.failed])).toEqual([[1, 'extract', false], [2, 'answer', false]]);
    expect(record.calls[1]?.variables).toEqual({ context: 'Paris is in France.' });
    expect(record.calls[0]?.variables).toEqual({});
    expect(record.calls.every((c) => typeof c.output_text === 'string' && c.output_text.length > 0)).toBe(true);
    expect(record.calls[0]?.input_messages).toEqual([{ role: 'user', content: 'Where is Paris?' }]);
    expect(await jobs.getRollout(jobId, rolloutId)).toEqual(record);
    expect(await jobs.getRollout(session.sessionId, rolloutId)).toEqual(record);
    await expect(session.getRollout('ro_unknown')).rejects.toThrow(NotFoundError);
  });

  it('updateReward sends textual feedback (overall and per module); reward views return it; candidates carry demos', async () => {
    const rollout = await session.nextRollout();
    for (const res of await pipelineCalls(rollout.chat_completions_url)) expect(res.status).toBe(200);
    await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: 0 }, feedback: 'the answer ignored the context', feedbackByModule: { answer: 'quoted nothing' } });
    const rewards = await collect(session.iterateRewards());
    expect(rewards.find((r) => r.rollout_id === rollout.rollout_id)).toMatchObject({ feedback: 'the answer ignored the context', feedback_by_module: { answer: 'quoted nothing' } });
    expect((await session.getCandidate('baseline')).demos).toEqual({});
  });

  it('types the fields docs/API.md documents on jobs, candidates, rewards and rollout calls (not as unknown)', async () => {
    const job = await jobs.get(jobId);
    expectTypeOf(job.best_score_n).toEqualTypeOf<number | undefined>();
    expectTypeOf(job.lift_over_baseline).toEqualTypeOf<{ estimate: number; ci: [number, number]; paired: boolean; source: string; significant: boolean; n?: number | undefined; [k: string]: unknown } | null>();
    expect(typeof job.best_score_n).toBe('number');
    const child = (job.candidates ?? []).find((c) => c.candidate_id === 'cand_answer_1')!;
    expectTypeOf(child.tip).toEqualTypeOf<string | null>();
    expectTypeOf(child.proposal_id).toEqualTypeOf<string | null>();
    expectTypeOf(child.retired_at).toEqualTypeOf<string | null>();
    expect(child).toMatchObject({ tip: expect.any(String), proposal_id: expect.stringMatching(/./), retired_at: null });
    const rewards = await collect(session.iterateRewards());
    expectTypeOf(rewards[0]!.feedback).toEqualTypeOf<string | undefined>();
    expectTypeOf(rewards[0]!.feedback_by_module).toEqualTypeOf<Record<string, string> | undefined>();
    expect(rewards.find((r) => r.feedback !== undefined)?.feedback_by_module).toEqual({ answer: 'quoted nothing' });
    const record = await session.getRollout(rolloutId);
    expectTypeOf(record.calls[0]!.truncated).toEqualTypeOf<boolean | undefined>();
    expect(record.calls.map((c) => c.truncated)).toEqual([false, false]);
  });
});

describe('SDK: program fields are required of the server', () => {
  it('a job without modules, or a candidate without instructions, is a ResponseFormatError', async () => {
    const withoutModules: Record<string, unknown> = fakeJob();
    delete withoutModules.modules;
    expect(JobSchema.safeParse(withoutModules).success).toBe(false);
    const s = await startScriptedServer([{ status: 200, body: withoutModules }]);
    try {
      const client = new MiproJobsClient({ backendUrl: s.url, apiKey: 'mpx_x', maxRetries: 0 });
      await expect(client.get('pl_0123')).rejects.toThrow(ResponseFormatError);
    } finally {
      await s.close();
    }
    const candidate = { candidate_id: 'c', system_id: 's', parent_id: null, status: 'active', instruction: 'x', module: null, rollout_count: 0, reward_count: 0, avg_reward: null, ci: null, val_score: null, created_at: 'now' };
    expect(CandidateSchema.safeParse(candidate).success).toBe(false);
    expect(CandidateSchema.parse({ ...candidate, instructions: { main: 'x' } }).instructions).toEqual({ main: 'x' });
  });
});
