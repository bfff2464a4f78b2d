import { servedCandidateId } from '../optimizer/runner/guardWatch.js';
import type { MissingCounts } from '../optimizer/core/missingRewards.js';
import type { SeedCell } from '../optimizer/core/seedClusters.js';
import { championOf } from '../services/jobSummary.js';
import type { CandidateRecord, JobRecord, ModuleRecord, ProposalSummary, RewardRecord } from '../store/types.js';
import type { ApiDeps } from './deps.js';

/**
 * What a job view (views.ts jobViewOf) is made of, read for one job (jobViewData) or for a page of
 * jobs at once (jobViewDataOfJobs). The two differ only in how they read: the view is built from
 * this by one function either way.
 */
export interface JobViewData {
  job: JobRecord;
  candidates: CandidateRecord[];
  modules: ModuleRecord[];
  missing: Map<string, MissingCounts>;
  seedCells: Map<string, SeedCell[]>;
  monitorCells: Map<string, SeedCell[]>;
  /** When the guard tripped (its event's time), null unless it did. */
  trippedAt: string | null;
  unmatched: number;
  proposals: ProposalSummary;
  /** The val rewards of the champion and the control (in that order), and when their val seeds were dispatched. */
  valRewards: RewardRecord[];
  valTimes: Map<string, Record<number, number>>;
}

type Deps = Pick<ApiDeps, 'store' | 'jobs'>;

/**
 * Jobs read together by the list: a page may hold 1,000 jobs. Each batch costs the same dozen
 * statements (one per read below), run a handful at a time like one job's; 250 ids stay far below
 * SQLite's 32,766 bound parameters, and a batch's records are dropped once its views are built.
 */
export const JOB_VIEW_BATCH = 250;

/**
 * The lift over the control is paired on the val seeds both ran at the same time: read exactly
 * those two candidates' val rewards (each runs a val seed once, so twice the seed count bounds the
 * read) and when their val seeds were dispatched.
 */
function valSides(job: JobRecord, candidates: readonly CandidateRecord[], missing: Map<string, MissingCounts>, seedCells: Map<string, SeedCell[]>) {
  const candidateIds = [...new Set([championOf(job, candidates, missing, seedCells), candidates.find((c) => c.ordinal === 0)?.id])]
    .filter((id): id is string => typeof id === 'string');
  return { jobId: job.id, candidateIds, limit: 2 * job.config.mipro.val_seeds.length };
}

/** Monitored rewards exist only once the job serves one candidate (the guard's seed-level statistics). */
const hasMonitor = (job: JobRecord) => servedCandidateId(job) !== null;
/** When the guard tripped is its event's time (read only for a tripped guard: no column for it). */
const hasTripped = (job: JobRecord) => job.guardTrippedCandidateId !== null;

export async function jobViewData(deps: Deps, job: JobRecord): Promise<JobViewData> {
  const [candidates, modules, missing, seedCells, monitorCells, tripped, unmatched, proposals] = await Promise.all([
    deps.store.listCandidates(job.id), deps.store.listModules(job.id), deps.jobs.missingRewards(job.id), deps.store.onlineSeedCells(job.id),
    hasMonitor(job) ? deps.store.monitorSeedCells(job.id) : new Map<string, SeedCell[]>(),
    hasTripped(job) ? deps.store.latestEvent(job.id, 'mipro.guard.tripped') : null,
    deps.store.unmatchedPromptCount(job.id),
    deps.store.proposalSummary(job.id),
  ]);
  const sides = valSides(job, candidates, missing, seedCells);
  const [valRewards, valTimes] = await Promise.all([
    Promise.all(sides.candidateIds.map((candidateId) => deps.store.listSeedEvals(job.id, { split: 'val', candidateId, limit: sides.limit }))),
    deps.store.valRunTimes(job.id, sides.candidateIds),
  ]);
  return {
    job, candidates, modules, missing, seedCells, monitorCells, trippedAt: tripped?.createdAt ?? null, unmatched, proposals,
    valRewards: valRewards.flatMap((page) => page.items), valTimes,
  };
}

/**
 * jobViewData of up to JOB_VIEW_BATCH jobs (the caller batches), in their order: each read is one
 * statement for all of them (`job_id in (...)`) instead of one per job.
 */
export async function jobViewDataOfJobs(deps: Deps, jobs: readonly JobRecord[]): Promise<JobViewData[]> {
  const ids = jobs.map((j) => j.id);
  const [candidates, modules, missing, seedCells, monitorCells, tripped, unmatched, proposals] = await Promise.all([
    deps.store.candidatesOfJobs(ids), deps.store.modulesOfJobs(ids), deps.jobs.missingRewardsOfJobs(ids), deps.store.onlineSeedCellsOfJobs(ids),
    deps.store.monitorSeedCellsOfJobs(jobs.filter(hasMonitor).map((j) => j.id)),
    deps.store.latestEventsOfJobs(jobs.filter(hasTripped).map((j) => j.id), 'mipro.guard.tripped'),
    deps.store.unmatchedPromptCountsOfJobs(ids),
    deps.store.proposalSummariesOfJobs(ids),
  ]);
  const loaded = jobs.map((job) => ({
    job,
    candidates: candidates.get(job.id) ?? [],
    modules: modules.get(job.id) ?? [],
    missing: missing.get(job.id) ?? new Map<string, MissingCounts>(),
    seedCells: seedCells.get(job.id) ?? new Map<string, SeedCell[]>(),
    monitorCells: monitorCells.get(job.id) ?? new Map<string, SeedCell[]>(),
    trippedAt: tripped.get(job.id)?.createdAt ?? null,
    unmatched: unmatched.get(job.id) ?? 0,
    proposals: proposals.get(job.id) ?? { failed: 0, latest: null },
  }));
  const sides = loaded.map((d) => valSides(d.job, d.candidates, d.missing, d.seedCells));
  const [valRewards, valTimes] = await Promise.all([deps.store.valRewardsOfJobs(sides), deps.store.valRunTimesOfJobs(sides)]);
  return loaded.map((d, i) => {
    const rewards = valRewards.get(d.job.id) ?? [];
    return {
      ...d,
      // Champion first, then the control, as the per-job read lists them.
      valRewards: sides[i]!.candidateIds.flatMap((id) => rewards.filter((r) => r.candidateId === id)),
      valTimes: valTimes.get(d.job.id) ?? new Map<string, Record<number, number>>(),
    };
  });
}
