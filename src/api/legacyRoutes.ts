import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LegacyStatusSchema } from '../schemas/reward.js';
import { scoreFrom, type RewardService } from '../services/rewardService.js';
import { summarizeJob } from '../services/jobSummary.js';
import { ValidationError } from '../shared/errors.js';
import type { ApiDeps } from './deps.js';
import { parseWith } from './requestContext.js';
import { bestPrompt, refusePurged } from './views.js';
import { TRAINING_SPLITS, type Split } from '../store/types.js';

const BASE = '/api/prompt-learning/online/mipro/systems';
const STATE_REWARDS_LIMIT = 1000;
const isTraining = (split: Split): boolean => (TRAINING_SPLITS as readonly Split[]).includes(split);

/**
 * The older MIPRO routes public demos still call: a per-rollout `status` report (also the reward
 * path: its response must carry candidate_id) and the system `state` dict.
 */
export function legacyRoutes(rewards: RewardService) {
  return (app: FastifyInstance, deps: ApiDeps): void => {
    const load = async (req: FastifyRequest<{ Params: { id: string } }>) => {
      const principal = await deps.authenticate(req);
      return deps.jobs.getBySystemOrJobId(principal.tenantId, req.params.id);
    };

    app.post<{ Params: { id: string } }>(`${BASE}/:id/status`, async (req) => {
      const job = await load(req);
      const body = parseWith(LegacyStatusSchema, req.body);
      if (body.reward === undefined || body.reward === null) {
        if (body.status === 'reward') throw new ValidationError('status "reward" needs a reward', [{ path: 'reward', message: 'is required when status is "reward"' }]);
        const target = await rewards.reportDone(job, { rolloutId: body.rollout_id, candidateId: body.candidate_id });
        return { status: 'ok', rollout_id: target.rolloutId, candidate_id: target.candidateId, reward: null, duplicate: false, job_status: job.status };
      }
      return rewards.report(job.tenantId, job.id, {
        rolloutId: body.rollout_id, candidateId: body.candidate_id,
        reward: scoreFrom({ reward: body.reward }, undefined, 'reward'), rewardPath: 'reward', metadata: body.metadata,
      });
    });

    app.get<{ Params: { id: string } }>(`${BASE}/:id/state`, async (req) => {
      const job = await load(req);
      const [candidates, modules, missing, seedCells] = await Promise.all([
        deps.store.listCandidates(job.id), deps.store.listModules(job.id), deps.jobs.missingRewards(job.id), deps.store.onlineSeedCells(job.id),
      ]);
      refusePurged(candidates, `no job or session ${req.params.id}`);
      const summary = summarizeJob(job, candidates, new Map(), missing, seedCells);
      const firstRewards = await deps.store.listRewards(job.id, { limit: STATE_REWARDS_LIMIT });
      return {
        system_id: job.systemId,
        job_id: job.id,
        status: job.status,
        version: job.eventSeq,
        rollout_count: job.rolloutCount,
        reward_count: job.rewardCount,
        proposal_seq: job.proposalSeq,
        best_candidate_id: summary.bestCandidateId,
        best_score: summary.bestScore,
        best_score_ci: summary.bestScoreCi,
        best_score_source: summary.bestScoreSource,
        // The job view's meaning: the first module's text of a program (not the module the champion changed).
        best_prompt: bestPrompt(candidates.find((c) => c.id === summary.bestCandidateId) ?? null, modules),
        candidates: Object.fromEntries(candidates.map((c) => [c.id, {
          candidate_id: c.id,
          parent_id: c.parentId,
          status: c.status,
          instruction: c.instruction,
          rollout_count: c.dispatches,
          reward_count: c.online.n,
          avg_reward: c.online.n > 0 ? c.online.mean : null,
          // The first STATE_REWARDS_LIMIT rewards of the job; the paged rewards route has them all.
          // Training rewards only, the ones reward_count and avg_reward count: never val (held out) nor
          // monitor (after the end, never in the optimizer's statistics).
          rewards: firstRewards.items.filter((r) => r.candidateId === c.id && isTraining(r.split)).map((r) => r.reward),
        }])),
      };
    });
  };
}
