import { moduleInstruction, programOf } from '../optimizer/core/program.js';
import { servedId } from '../services/programExport.js';
import type {
  CandidateRecord, EventRecord, JobRecord, ModuleRecord, ProposalRecord, RewardRecord, RolloutCallRecord, RolloutRecord,
} from '../store/types.js';
import { jobName } from '../services/jobService.js';
import { guardReport } from '../optimizer/runner/guardWatch.js';
import { championOf, summarizeJob, valRewardsBySeed, type CandidateSummary } from '../services/jobSummary.js';
import type { ApiDeps } from './deps.js';

/**
 * Wire views: the one place where records become the JSON of SPEC.md. Field names follow the public
 * API (and the aliases its clients read: best_reward, score, objective, prompt_text ...).
 */
export function candidateView(c: CandidateRecord, systemId: string, s: CandidateSummary | undefined, modules: readonly ModuleRecord[]) {
  return {
    candidate_id: c.id,
    system_id: systemId,
    parent_id: c.parentId,
    status: c.status,
    /** The changed module's text (the baseline: its first module's). */
    instruction: c.instruction,
    prompt_text: c.instruction,
    module: c.module,
    /** The whole program: every module's text in this candidate. */
    instructions: programOf(c.instructions, modules),
    tip: c.tip,
    proposal_id: c.proposalId,
    rollout_count: c.dispatches,
    reward_count: c.online.n,
    avg_reward: c.online.n > 0 ? c.online.mean : null,
    score: c.online.n > 0 ? c.online.mean : null,
    objective: c.online.n > 0 ? c.online.mean : null,
    ci: s?.onlineCi ?? null,
    val_score: c.val.n > 0 ? c.val.mean : null,
    val_count: c.val.n,
    val_ci: s?.valCi ?? null,
    created_at: c.createdAt,
    retired_at: c.retiredAt,
  };
}

export function eventView(e: EventRecord) {
  return { seq: e.seq, event_type: e.eventType, message: e.message, data: e.data, created_at: e.createdAt };
}

export async function jobView(deps: Pick<ApiDeps, 'store' | 'urls'>, job: JobRecord, origin: string, opts: { candidates?: boolean } = {}) {
  const [candidates, modules] = await Promise.all([deps.store.listCandidates(job.id), deps.store.listModules(job.id)]);
  // The lift over the control is paired on the val seeds both ran: read exactly those two
  // candidates' val rewards (each runs a val seed once, so twice the seed count bounds the read).
  const sides = [championOf(job, candidates), candidates.find((c) => c.ordinal === 0)?.id];
  const limit = 2 * job.config.mipro.val_seeds.length;
  const valRewards = await Promise.all(
    [...new Set(sides)].flatMap((candidateId) => (candidateId ? [deps.store.listSeedEvals(job.id, { split: 'val', candidateId, limit })] : [])),
  );
  const summary = summarizeJob(job, candidates, valRewardsBySeed(valRewards.flatMap((page) => page.items)));
  const urls = deps.urls(job, origin);
  const best = candidates.find((c) => c.id === summary.bestCandidateId) ?? null;
  return {
    job_id: job.id,
    name: jobName(job),
    status: job.status,
    algorithm: 'mipro',
    mode: 'online',
    best_score: summary.bestScore,
    best_reward: summary.bestScore,
    best_score_ci: summary.bestScoreCi,
    best_score_source: summary.bestScoreSource,
    best_score_n: summary.bestScoreN,
    best_candidate_id: summary.bestCandidateId,
    best_candidate: best ? { candidate_id: best.id, instruction: best.instruction } : null,
    // The one-prompt API's field: meaningful for one-module jobs (the first module's text otherwise).
    best_prompt: best ? (modules.length > 1 ? moduleText(best, modules[0]) : best.instruction) : null,
    best_program: best ? programOf(best.instructions, modules) : null,
    /** What a finished job serves on its proxy URL (null while it runs: each rollout is chosen). */
    served_candidate_id: servedId(job),
    guard: guardView(job, candidates),
    modules: modules.map((m) => ({ name: m.name, template: m.template, origin: m.origin })),
    baseline_score: summary.baselineScore,
    lift_over_baseline: summary.lift,
    rollout_count: job.rolloutCount,
    reward_count: job.rewardCount,
    proposal_seq: job.proposalSeq,
    max_rollouts: job.config.mipro.max_rollouts ?? null,
    candidate_count: candidates.length,
    phase: summary.phase,
    ...(opts.candidates === false ? {} : { candidates: candidates.map((c) => candidateView(c, job.systemId, summary.byId.get(c.id), modules)) }),
    correlation_id: job.correlationId,
    metadata: { ...job.metadata, mipro_system_id: job.systemId, mipro_proxy_url: urls.proxy_url },
    ...urls,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
  };
}

/**
 * The guard (mipro.guard) as it stands: the candidate it watches (or tripped for) and that
 * candidate's monitored rewards with their anytime-valid interval, beside its confirmed score.
 */
function guardView(job: JobRecord, candidates: readonly CandidateRecord[]) {
  const g = guardReport(job, candidates);
  const c = candidates.find((x) => x.id === g.candidateId);
  return {
    mode: job.config.mipro.guard,
    state: g.state,
    candidate_id: g.candidateId,
    monitored: { n: c?.monitor.n ?? 0, mean: c && c.monitor.n > 0 ? c.monitor.mean : null, ci: g.interval && finiteOrNull(g.interval) },
    confirmed: g.confirmed ? { score: g.confirmed.score, ci: finiteOrNull(g.confirmed.ci), source: g.confirmed.source } : null,
  };
}

const finiteOrNull = (i: [number, number]): [number, number] | null => (Number.isFinite(i[0]) && Number.isFinite(i[1]) ? i : null);

function moduleText(c: CandidateRecord, m: ModuleRecord | undefined): string {
  return m ? moduleInstruction(c.instructions, m) : c.instruction;
}

/** `modules`: the module of each of the rollout's calls, in call order (null: the call matched none). */
export function rewardView(r: RewardRecord, modules?: readonly (string | null)[]) {
  return {
    ...(modules ? { modules } : {}),
    rollout_id: r.rolloutId,
    candidate_id: r.candidateId,
    seed: r.seed,
    split: r.split,
    reward: r.reward,
    score: r.reward,
    success: r.reward > 0, // the store's `success` filter (listSeedEvals) uses the same rule
    metadata: r.metadata,
    created_at: r.createdAt,
  };
}

export function proposalView(p: ProposalRecord) {
  return {
    proposal_id: p.id,
    seq: p.seq,
    parent_id: p.parentId,
    module: p.module,
    tip: p.tip,
    status: p.status,
    candidate_ids: p.candidateIds,
    prompt: p.prompt,
    response: p.response,
    error: p.error,
    created_at: p.createdAt,
    finished_at: p.finishedAt,
  };
}

export function rolloutView(r: RolloutRecord, calls: readonly RolloutCallRecord[]) {
  return {
    rollout_id: r.id,
    candidate_id: r.candidateId,
    seed: r.seed,
    split: r.split,
    status: r.status,
    reward: r.reward,
    correlation_id: r.correlationId,
    call_count: r.callCount,
    calls: calls.map((c) => ({
      seq: c.seq, module: c.module, input_messages: c.inputMessages, variables: c.variables,
      output_text: c.outputText, failed: c.failed, created_at: c.createdAt,
    })),
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}
