import { describe, expect, it } from 'vitest';
import { MiproOnlineSession } from '../../src/sdk/index.js';
import { type TestServer, pipelineCalls, pipelineJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * The stop rule on a program of two modules (a plain prompt and a template), with demo-set and
 * instruction proposals from the simulator, driven to its end and on through the SDK: what the user
 * sees at the end must agree (the champion the rule names is served, scored on val, nothing running).
 */
describe('the stop rule on a program, through the SDK', () => {
  let t: TestServer;
  useTestServer({ start: { cacheTtlMs: 20 } }, (s) => (t = s));

  it.each(['instruction_and_demos', 'demos_only'])('%s: ends by itself, serves what it named, and keeps serving it after the end', async (mode) => {
    const body = pipelineJobBody({
      bootstrap_train_seeds: [0, 1, 2], online_pool: { start: 0, end: 400 }, val_seeds: { start: 1000, end: 1006 },
      online_rollouts_per_candidate: 4, online_proposer_min_rollouts: 8, online_proposer_max_candidates: 3,
      stop_when_identified: { epsilon: 0.05, delta: 0.05 },
    });
    (body.policy_optimization.mipro.proposer as Record<string, unknown>).mode = mode;
    const session = await MiproOnlineSession.create({ config: body, backendUrl: t.url, apiKey: t.key });
    // The first child proposed is good (0.9), everything else 0.3; rewards drawn per rollout.
    const p = new Map<string, number>([['baseline', 0.3]]);
    let status = 'running';
    let n = 0;
    let x = 12345;
    const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    while (status === 'running' && n++ < 3000) {
      const next = await session.nextRollout();
      const [first] = await pipelineCalls(next.chat_completions_url, `context ${next.seed % 7}`);
      const served = first!.headers.get('x-mipro-candidate-id')!;
      if (!p.has(served)) p.set(served, p.size === 1 ? 0.9 : 0.3);
      status = (await session.updateReward({ rolloutId: next.rollout_id, rewardInfo: { score: rand() < p.get(served)! ? 1 : 0 } })).job_status ?? 'running';
    }
    const job = await session.status();
    const events = await t.server.store.listEvents(session.jobId, 0, 100_000);
    const proposals = await session.proposals();
    expect(proposals.filter((q) => q.status === 'running')).toEqual([]);
    expect(job.candidates!.length).toBeLessThanOrEqual(3);
    if (status !== 'succeeded') return; // not identified within the budget: nothing to check at the end
    const end = events.find((e) => e.eventType === 'mipro.job.status' && e.data.status === 'succeeded')!;
    const named = /^stop_when_identified: (\S+) identified/.exec(String(end.data.reason))?.[1];
    expect({ named, served: job.served_candidate_id, best: job.best_candidate_id, source: job.best_score_source })
      .toEqual({ named: job.served_candidate_id, served: job.best_candidate_id, best: job.best_candidate_id, source: 'val' });
    // On after the end: monitoring rollouts of what it serves, rewards stored as monitor.
    for (let i = 0; i < 5; i++) {
      const next = await session.nextRollout();
      expect(next).toMatchObject({ split: 'monitor', candidate_id: job.served_candidate_id });
      const [first] = await pipelineCalls(next.chat_completions_url);
      expect(first!.headers.get('x-mipro-candidate-id')).toBe(job.served_candidate_id);
      expect(await session.updateReward({ rolloutId: next.rollout_id, rewardInfo: { score: 1 } })).toMatchObject({ split: 'monitor', duplicate: false });
    }
    const after = await session.status();
    expect(after).toMatchObject({ status: 'succeeded', reward_count: job.reward_count, best_score: job.best_score, served_candidate_id: job.served_candidate_id });
  }, 180_000);
});
