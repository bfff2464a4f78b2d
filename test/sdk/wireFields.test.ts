import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  type Candidate, CandidateSchema, type Job, JobSchema, MiproJobsClient, type MiproOnlineSession, type RewardRecord,
  RewardRecordSchema, type RolloutCall, RolloutCallSchema, RolloutRecordSchema, SeedEvalSchema,
} from '../../src/sdk/index.js';
import { type TestServer, pipelineCalls, pipelineJobBody, startTestServer } from '../helpers/server.js';

/**
 * The public MIPRO Online API's names for fields the SDK types under miprox's own name: each is the
 * same value again (`score` = `avg_reward`, `best_reward` = `best_score` ...), kept on the wire for
 * clients written for that API, and left to the loose objects' `unknown` here on purpose.
 */
const PUBLIC_API_ALIASES: Record<string, readonly string[]> = {
  job: ['algorithm', 'mode', 'best_reward', 'best_candidate'],
  candidate: ['prompt_text', 'score', 'objective'],
  reward: ['score', 'success'],
  rolloutCall: [],
  rollout: [],
};

/** Keys the server sent that the SDK's schema does not declare (nor names as an alias). */
function undeclared(schema: z.ZodObject, wire: Record<string, unknown>, aliases: readonly string[]): string[] {
  return Object.keys(wire).filter((k) => !(k in schema.shape) && !aliases.includes(k));
}

/**
 * Every field a view carries is typed in the SDK, so an app reads `c.missing_reward_rate` as a
 * number, not `unknown` it must cast. Found adopting miprox with a three-module app: the candidate's
 * missing-reward rate and flag (docs/API.md, "Missing rewards"), a call's `output_tool_calls`, the
 * `metadata` an app sent with its reward and the seed count behind `best_score` were on the wire and
 * documented, yet typed `unknown`.
 */
describe('SDK: the wire types declare every field the server sends', () => {
  let t: TestServer;
  let session: MiproOnlineSession;
  let jobId: string;
  let rolloutId: string;
  const raw = async (path: string) => (await (await fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${t.key}` } })).json()) as Record<string, unknown>;
  beforeAll(async () => {
    t = await startTestServer();
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    jobId = (await jobs.create(pipelineJobBody())).job_id;
    session = await jobs.session(jobId);
    const rollout = await session.nextRollout();
    rolloutId = rollout.rollout_id;
    for (const res of await pipelineCalls(rollout.chat_completions_url)) expect(res.status).toBe(200);
    await session.updateReward({ rolloutId, rewardInfo: { score: 1 }, metadata: { app_version: '1.2.3' } });
  });
  afterAll(async () => t.close());

  it('a job view', async () => {
    const wire = await raw(`/api/policy-optimization/online/jobs/${jobId}`);
    expect(undeclared(JobSchema, wire, PUBLIC_API_ALIASES.job!)).toEqual([]);
    expect((await session.status()).best_score_n_seeds).toBe(wire.best_score_n_seeds);
    expectTypeOf<Job['best_score_n_seeds']>().toEqualTypeOf<number | undefined>();
  });

  it('a candidate', async () => {
    const page = await raw(`/api/systems/${session.sessionId}/candidates`);
    const wire = (page.items as Record<string, unknown>[])[0]!;
    expect(undeclared(CandidateSchema, wire, PUBLIC_API_ALIASES.candidate!)).toEqual([]);
    const baseline = await session.getCandidate('baseline');
    expect(baseline).toMatchObject({ missing_reward_rate: wire.missing_reward_rate, missing_rewards_flagged: false, n_seeds: 1 });
    expectTypeOf<Candidate['missing_reward_rate']>().toEqualTypeOf<number | null | undefined>();
    expectTypeOf<Candidate['missing_rewards_flagged']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<Candidate['n_seeds']>().toEqualTypeOf<number | undefined>();
  });

  it('a reward and a seed evaluation', async () => {
    const rewards = await raw(`/api/v1/online/sessions/${session.sessionId}/rewards`);
    const wire = (rewards.items as Record<string, unknown>[])[0]!;
    expect(undeclared(RewardRecordSchema, wire, PUBLIC_API_ALIASES.reward!)).toEqual([]);
    const evals = await raw(`/api/systems/${session.sessionId}/seed-evals`);
    expect(undeclared(SeedEvalSchema, (evals.items as Record<string, unknown>[])[0]!, PUBLIC_API_ALIASES.reward!)).toEqual([]);
    const [reward] = (await session.rewards()).items;
    expect(reward?.metadata).toEqual({ app_version: '1.2.3' });
    expectTypeOf<RewardRecord['metadata']>().toEqualTypeOf<Record<string, unknown> | null | undefined>();
  });

  it('a rollout and its calls', async () => {
    const wire = await raw(`/api/systems/${session.sessionId}/rollouts/${rolloutId}`);
    expect(undeclared(RolloutRecordSchema, wire, PUBLIC_API_ALIASES.rollout!)).toEqual([]);
    for (const call of wire.calls as Record<string, unknown>[]) expect(undeclared(RolloutCallSchema, call, PUBLIC_API_ALIASES.rolloutCall!)).toEqual([]);
    expect((await session.getRollout(rolloutId)).calls.map((c) => c.output_tool_calls)).toEqual([0, 0]);
    expectTypeOf<RolloutCall['output_tool_calls']>().toEqualTypeOf<number | undefined>();
  });
});
