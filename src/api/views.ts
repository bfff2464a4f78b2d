import { changedModules, moduleInstruction, programOf } from '../optimizer/core/program.js';
import { type CompiledModule, compileModules } from '../optimizer/core/modules.js';
import { demosView } from '../optimizer/core/demos.js';
import { guardReport, servedCandidateId } from '../optimizer/runner/guardWatch.js';
import { proposerCaps } from '../optimizer/runner/proposerSpend.js';
import { exhaustedCap } from '../optimizer/core/spend.js';
import { messagesTruncated, wasTruncated } from '../proxy/recordLimits.js';
import { servedDemoTurns } from './servedDemoTurns.js';
import { servedSystemText } from './servedSystemText.js';
import type {
  CandidateRecord, EventRecord, JobRecord, ModuleRecord, ProposalRecord, ProposalSummary, RewardRecord, RolloutCallRecord, RolloutRecord,
} from '../store/types.js';
import { jobName } from '../services/jobService.js';
import { seededStats, summarizeJob, valRewardsBySeed, type CandidateSummary } from '../services/jobSummary.js';
import { JOB_VIEW_BATCH, type JobViewData, jobViewData, jobViewDataOfJobs } from './jobViewData.js';
import type { SeedCell } from '../optimizer/core/seedClusters.js';
import type { UsageTotals } from '../store/usage.js';
import type { ApiDeps } from './deps.js';
import { JobGoneError } from '../shared/errors.js';

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
    /**
     * The modules this candidate changed itself: [module], or for a whole program added by hand
     * (module null) every module it set apart from the baseline; [] for the baseline. An addition to SPEC.md.
     */
    changed_modules: changedModules(c, modules),
    /** The whole program: every module's text in this candidate. */
    instructions: programOf(c.instructions, modules),
    /** Per module the ordered demos injected before the client's conversation: {module: [{input, output, rollout_id}]}. */
    demos: demosView(c.demos),
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
    /** Distinct seeds behind `ci` (its interval counts seeds, not rollouts, when rewards carry seeds). */
    n_seeds: s?.nSeeds ?? 0,
    /** Share of its rollouts past the in-flight expiry that never got a reward; null before any. */
    missing_reward_rate: s?.missingRewardRate ?? null,
    /** Loses significantly more rewards than the control: cannot be champion meanwhile. */
    missing_rewards_flagged: s?.missingRewardsFlagged ?? false,
    created_at: c.createdAt,
    retired_at: c.retiredAt,
  };
}

export function eventView(e: EventRecord) {
  return { seq: e.seq, event_type: e.eventType, message: e.message, data: e.data, created_at: e.createdAt };
}

export async function jobView(deps: Pick<ApiDeps, 'store' | 'urls' | 'jobs'>, job: JobRecord, origin: string, opts: { candidates?: boolean } = {}) {
  const data = await jobViewData(deps, job);
  // Read before a DELETE, its rows removed while the view was read: unknown, as the next read says.
  refusePurged(data.candidates, `job ${job.id} not found`);
  return jobViewOf(deps, data, origin, opts);
}

/**
 * For a record read in several statements after its job was (a rollout with its calls, a program
 * export): a DELETE's purge may have removed some of the rows between them, and the view would be
 * hollow (a rollout whose calls are gone, `call_count` still counting them; a candidate without its
 * modules). The purge starts only after the job is marked deleted, so a job still there after the
 * reads means they all came before its rows went; gone, it is unknown, as the next read says.
 */
export async function readBeforeAnyDelete(store: Pick<ApiDeps['store'], 'getJob'>, job: JobRecord): Promise<void> {
  if ((await store.getJob(job.id)) === null) throw new JobGoneError(`job ${job.id} not found`);
}

/**
 * Every job holds its baseline candidate from its creation until its rows are removed (a deleted
 * job's purge, store/jobPurge.ts): candidates read as none are of a job deleted after it was read,
 * whose hollow view (no candidates, no best candidate) would say nothing true.
 */
function purgedMeanwhile(candidates: readonly unknown[]): boolean {
  return candidates.length === 0;
}

/** A 404 (JobGoneError) when the job's candidates were read after its rows were removed (purgedMeanwhile). */
export function refusePurged(candidates: readonly unknown[], message: string): void {
  if (purgedMeanwhile(candidates)) throw new JobGoneError(message);
}

/**
 * The jobs list's items: jobView without candidates for each job, read JOB_VIEW_BATCH jobs at a time
 * (a page costs a dozen statements per batch, not a dozen per job) and built by the same jobViewOf.
 */
export async function jobListViews(deps: Pick<ApiDeps, 'store' | 'urls' | 'jobs'>, jobs: readonly JobRecord[], origin: string) {
  const views = [];
  for (let i = 0; i < jobs.length; i += JOB_VIEW_BATCH) {
    for (const data of await jobViewDataOfJobs(deps, jobs.slice(i, i + JOB_VIEW_BATCH))) {
      // Deleted since the page was read: left out, as the next read of the page leaves it out.
      if (!purgedMeanwhile(data.candidates)) views.push(jobViewOf(deps, data, origin, { candidates: false }));
    }
  }
  return views;
}

/** A job's view from what was read for it: the one place its JSON is built. */
function jobViewOf(deps: Pick<ApiDeps, 'urls'>, data: JobViewData, origin: string, opts: { candidates?: boolean }) {
  const { job, candidates, modules, missing, seedCells, monitorCells, trippedAt, unmatched, proposals, valRewards, valTimes } = data;
  const summary = summarizeJob(job, candidates, valRewardsBySeed(valRewards), missing, seedCells, valTimes);
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
    /** Distinct seeds behind best_score: repeated rollouts of one seed count once in its interval. */
    best_score_n_seeds: summary.bestScoreNSeeds,
    best_candidate_id: summary.bestCandidateId,
    best_candidate: best ? { candidate_id: best.id, instruction: best.instruction } : null,
    best_prompt: bestPrompt(best, modules),
    best_program: best ? programOf(best.instructions, modules) : null,
    /** What a finished job serves on its proxy URL (null while it runs: each rollout is chosen). */
    served_candidate_id: servedCandidateId(job),
    guard: guardView(job, candidates, trippedAt, seedCells, monitorCells),
    modules: modules.map((m) => ({ name: m.name, template: m.template, origin: m.origin })),
    /** Distinct system texts that matched no module: their calls passed through unoptimized (mipro.module.unmatched). */
    unmatched_prompts: unmatched,
    baseline_score: summary.baselineScore,
    lift_over_baseline: summary.lift,
    rollout_count: job.rolloutCount,
    reward_count: job.rewardCount,
    proposal_seq: job.proposalSeq,
    /** Proposals that ended `failed` (the proposer unreachable, refused, timed out ...): GET .../proposals says why. */
    failed_proposals: proposals.failed,
    /** The newest proposal without its prompt and answer, so a view says why proposals add nothing. */
    last_proposal: proposals.latest && lastProposalView(proposals.latest),
    /** Why no proposal can add a candidate any more (the candidate cap, a proposer spend cap), or null. */
    proposals_stopped: proposalsStopped(job, candidates.length),
    max_rollouts: job.config.mipro.max_rollouts ?? null,
    /** The job's declared reward scale (`mipro.reward_range`): scores and intervals lie within it. */
    reward_range: job.config.mipro.reward_range,
    /** Tokens and calls as the providers reported them: the app's proxied calls and the proposer's. */
    usage: { policy: usageView(job.usage.policy), proposer: usageView(job.usage.proposer) },
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

function lastProposalView(p: NonNullable<ProposalSummary['latest']>) {
  return {
    proposal_id: p.id, seq: p.seq, parent_id: p.parentId, module: p.module, status: p.status, error: p.error,
    candidate_ids: p.candidateIds, created_at: p.createdAt, finished_at: p.finishedAt,
  };
}

/**
 * The cap that stops proposals (the pool is final: core/selection.ts), as the proposal trigger reads
 * it: `online_proposer_max_candidates` (retired candidates count), then the proposer's spend caps.
 */
export function proposalsStopped(job: JobRecord, candidateCount: number): { reason: string; limit: number; message: string } | null {
  const max = job.config.mipro.online_proposer_max_candidates;
  if (candidateCount >= max) {
    return {
      reason: 'max_candidates', limit: max,
      message: `the job holds ${candidateCount} candidates, the most mipro.online_proposer_max_candidates (${max}) allows (retired ones count): raise it in a new job for more proposals`,
    };
  }
  const caps = proposerCaps(job);
  const cap = exhaustedCap(job.usage.proposer, caps);
  if (cap === null) return null;
  const limit = (cap === 'max_calls' ? caps.maxCalls : caps.maxTotalTokens) ?? 0;
  const spent = cap === 'max_calls' ? `${job.usage.proposer.calls} calls` : `${job.usage.proposer.totalTokens} tokens`;
  return { reason: cap, limit, message: `the proposer's spend reached mipro.proposer.${cap} (${limit}): ${spent}` };
}

function usageView(u: UsageTotals) {
  return { prompt_tokens: u.promptTokens, completion_tokens: u.completionTokens, total_tokens: u.totalTokens, calls: u.calls };
}

/**
 * The guard (mipro.guard) as it stands: the candidate it watches (or tripped for) and that
 * candidate's monitored rewards with their anytime-valid interval, beside its confirmed score.
 * `served_candidate_id` repeats the job's: after a revert it differs from `candidate_id`.
 */
function guardView(
  job: JobRecord, candidates: readonly CandidateRecord[], trippedAt: string | null,
  seedCells: ReadonlyMap<string, readonly SeedCell[]>, monitorCells: ReadonlyMap<string, readonly SeedCell[]>,
) {
  // Seed-level where rewards carried seeds, as the engine judges it (runner/guardWatch.ts).
  const g = guardReport(job, candidates, { online: (id) => seededStats(seedCells.get(id)), monitor: (id) => seededStats(monitorCells.get(id)) });
  const c = candidates.find((x) => x.id === g.candidateId);
  return {
    mode: job.config.mipro.guard,
    state: g.state,
    can_trip: g.canTrip,
    candidate_id: g.candidateId,
    served_candidate_id: servedCandidateId(job),
    tripped_at: g.state === 'tripped' ? trippedAt : null,
    monitored: { n: c?.monitor.n ?? 0, mean: c && c.monitor.n > 0 ? c.monitor.mean : null, ci: g.interval && finiteOrNull(g.interval) },
    confirmed: g.confirmed ? { score: g.confirmed.score, ci: finiteOrNull(g.confirmed.ci), source: g.confirmed.source } : null,
  };
}

const finiteOrNull = (i: [number, number]): [number, number] | null => (Number.isFinite(i[0]) && Number.isFinite(i[1]) ? i : null);

/**
 * `best_prompt`, the one-prompt API's field (job views and the older state dict alike): meaningful
 * for one-module jobs; the champion's first module's text otherwise. Null while a discovering job has
 * no module yet: no prompt is known, and `""` is a prompt of its own (the module of calls that send
 * no system message).
 */
export function bestPrompt(best: CandidateRecord | null, modules: readonly ModuleRecord[]): string | null {
  if (best === null || modules.length === 0) return null;
  return modules.length > 1 ? moduleText(best, modules[0]) : best.instruction;
}

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
    ...(r.feedback !== null ? { feedback: r.feedback } : {}),
    ...(r.feedbackByModule !== null ? { feedback_by_module: r.feedbackByModule } : {}),
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

/**
 * `candidate`: the rollout's, for each call's `system_prompt` and `demo_turns` (null when it cannot
 * be read: every call's are then null too).
 */
export function rolloutView(r: RolloutRecord, calls: readonly RolloutCallRecord[], candidate: CandidateRecord | null, modules: readonly ModuleRecord[]) {
  // Compiled once for the view: once per call, 256 calls over large templates held the event loop for seconds.
  const program = compileModules(modules);
  return {
    rollout_id: r.id,
    candidate_id: r.candidateId,
    seed: r.seed,
    split: r.split,
    status: r.status,
    reward: r.reward,
    correlation_id: r.correlationId,
    call_count: r.callCount,
    calls: calls.map((c) => rolloutCallView(c, candidate, program)),
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

/** Stands for a call's own system text, not stored, where only its presence matters. */
const OWN_TEXT = 'the call\'s own system text';

function rolloutCallView(c: RolloutCallRecord, candidate: CandidateRecord | null, modules: readonly CompiledModule[]) {
  // What the proxy put in the system message: the record keeps only the client's other messages.
  // A call sent its own text, one its module's template does not give, stored no system text.
  const system = candidate && !c.ownSystemText ? servedSystemText(candidate.instructions, modules, c.module, c.variables) : null;
  return {
    seq: c.seq, module: c.module, system_prompt: system,
    // The candidate's demos the proxy inserted after the system text, before the client's messages.
    // (A call sent its own text had one: only where the demos go depends on it, not which.)
    demo_turns: candidate && c.module !== null ? servedDemoTurns(candidate.demos[c.module] ?? [], c.ownSystemText ? OWN_TEXT : system, c.inputMessages, c.variables) : null,
    input_messages: c.inputMessages, variables: c.variables,
    // How many tool calls the answer made: output_text shows each as a `name(arguments)` line.
    output_text: c.outputText, output_tool_calls: c.toolCalls, failed: c.failed, created_at: c.createdAt,
    // Stored text is capped (MAX_STORED_CALL_TEXT): say when this record holds only a prefix.
    truncated: wasTruncated(c.outputText) || Object.values(c.variables ?? {}).some(wasTruncated) || messagesTruncated(c.inputMessages),
  };
}
