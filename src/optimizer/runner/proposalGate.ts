import { childrenBeingMeasured, proposalDecision, type ProposalDecision } from '../core/proposalTrigger.js';
import { exhaustedCap } from '../core/spend.js';
import type { JobRuntime } from './jobRuntime.js';
import { proposerCaps } from './proposerSpend.js';

/**
 * Whether the job should propose now, on the runtime's state (core/proposalTrigger.ts). Asked twice:
 * by the engine after a reward, on its cache, and by the proposal runner on the state it has just
 * read, since on several instances the cache may not hold the last proposal's children yet.
 */
export function proposalDecisionOf(rt: JobRuntime, proposalInFlight: boolean): ProposalDecision {
  const mipro = rt.job.config.mipro;
  return proposalDecision({
    jobStatus: rt.job.status,
    rewardsSinceProposal: rt.job.rewardsSinceProposal,
    minRollouts: mipro.online_proposer_min_rollouts,
    candidateCount: rt.candidates.length,
    maxCandidates: mipro.online_proposer_max_candidates,
    proposalInFlight,
    rolloutCount: rt.job.rolloutCount,
    maxRollouts: mipro.max_rollouts ?? null,
    spendCapReached: exhaustedCap(rt.job.usage.proposer, proposerCaps(rt.job)),
    childrenBeingMeasured: () => childrenBeingMeasured(rt.views(), mipro.online_rollouts_per_candidate, rt.modules.length),
  });
}
