import { bestScore, liftOverControl, pickChampion } from '../optimizer/core/champion.js';
import { differenceFromUnit, intervalFromUnit, onlineInterval, toUnitBySeed, toUnitStats, valInterval } from '../optimizer/core/rewardRange.js';
import { toCandidateView } from '../optimizer/runner/jobRuntime.js';
import { clusteredStats, type SeedCell } from '../optimizer/core/seedClusters.js';
import { statsOf } from '../optimizer/core/statistics.js';
import type { RunningStats } from '../optimizer/core/types.js';
import type { RunTimes } from '../optimizer/core/valPairs.js';
import { flaggedIds, missingVerdicts, type MissingByCandidate } from '../optimizer/runner/missingRewards.js';
import type { Interval } from '../optimizer/core/types.js';
import type { CandidateRecord, JobRecord } from '../store/types.js';

export interface CandidateSummary {
  onlineCi: Interval | null;
  /** Distinct seeds behind the online figures (0 when its rewards carried none). */
  nSeeds: number;
  valCi: Interval | null;
  /** Share of its rollouts past the in-flight expiry that never got a reward (null before any). */
  missingRewardRate: number | null;
  /** Loses significantly more rewards than the control: it cannot be champion meanwhile. */
  missingRewardsFlagged: boolean;
}


export interface JobSummary {
  bestCandidateId: string | null;
  bestScore: number | null;
  bestScoreCi: Interval | null;
  bestScoreSource: 'val' | 'online' | null;
  bestScoreN: number;
  /** Distinct seeds behind best_score (0 when its rewards carried none). */
  bestScoreNSeeds: number;
  baselineScore: number | null;
  /** `n`: the pairs it was computed on (paired), or the smaller side's observations (unpaired). */
  lift: { estimate: number; ci: Interval; paired: boolean; source: 'val' | 'online'; n: number; significant: boolean } | null;
  phase: 'awaiting_baseline' | 'bootstrap' | 'online' | 'finished';
  byId: Map<string, CandidateSummary>;
}

const finite = (i: Interval): Interval | null => (Number.isFinite(i[0]) && Number.isFinite(i[1]) ? i : null);

/**
 * The champion: the best shrunken mean among candidates with R rewards (null before any), leaving out
 * candidates flagged for losing more rewards than the control.
 */
export function championOf(
  job: JobRecord,
  candidates: readonly CandidateRecord[],
  missing: MissingByCandidate = new Map(),
  /** Online rewards by candidate and seed: the champion is then chosen on seed-level statistics, as the engine chooses it. */
  seedCells: ReadonlyMap<string, readonly SeedCell[]> = new Map(),
): string | null {
  const excluded = flaggedIds(missingVerdicts(candidates, missing));
  const views = candidates.map((c) => toCandidateView(c, 0, job.config.mipro.reward_range, seededStats(seedCells.get(c.id))));
  return pickChampion(views, job.config.mipro.online_rollouts_per_candidate, { excluded });
}

/** Seed-level statistics of stored cells; undefined when none carried a seed (per-reward statistics apply). */
export function seededStats(cells: readonly SeedCell[] | undefined): RunningStats | undefined {
  return cells && cells.some((c) => c.seed !== null) ? clusteredStats(cells).stats : undefined;
}

/** Mean online reward per seed, rescaled to [0, 1] (pairs the online lift by seed). */
function unitSeedMeans(cells: readonly SeedCell[] | undefined, range: readonly [number, number]): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of cells ?? []) if (c.seed !== null && c.n > 0) out.set(c.seed, (c.sum / c.n - range[0]) / (range[1] - range[0]));
  return out;
}

/**
 * The honest numbers shown for a job, derived from candidate statistics on every read (never stored):
 * the champion is the best shrunken mean among candidates with R rewards, and best_score is its val
 * mean when it has val rollouts, else its online mean with an anytime-valid interval.
 */
export function summarizeJob(
  job: JobRecord,
  candidates: readonly CandidateRecord[],
  /** Val rewards by candidate and seed: lets the lift over the control be paired on shared seeds. */
  valBySeed: ReadonlyMap<string, Readonly<Record<number, number>>> = new Map(),
  missing: MissingByCandidate = new Map(),
  /** Online rewards by candidate and seed: intervals then count seeds, not rollouts (seedClusters.ts). */
  seedCells: ReadonlyMap<string, readonly SeedCell[]> = new Map(),
  /**
   * When each val seed was dispatched, by candidate and seed (store `valRunTimes`): given, the lift
   * pairs only the val runs champion and control made at the same time (core/valPairs.ts).
   */
  valRunTimes?: ReadonlyMap<string, RunTimes>,
): JobSummary {
  const championId = championOf(job, candidates, missing, seedCells);
  const verdicts = missingVerdicts(candidates, missing);
  const champion = candidates.find((c) => c.id === championId) ?? null;
  const control = candidates.find((c) => c.ordinal === 0) ?? null;
  // Statistics are computed on rewards rescaled to [0, 1] by the declared range (valid for any
  // distribution inside it), then mapped back to the job's units.
  const range = job.config.mipro.reward_range;
  const evidence = new Map(candidates.map((c) => [c.id, evidenceOf(c, seedCells.get(c.id), valBySeed.get(c.id))]));
  const side = (c: CandidateRecord) => {
    const e = evidence.get(c.id) ?? evidenceOf(c, undefined, undefined);
    return {
      stats: toUnitStats(e.online, range), val: toUnitStats(e.val, range), unitInterval: true,
      valBySeed: toUnitBySeed(valBySeed.get(c.id) ?? {}, range), onlineBySeed: unitSeedMeans(seedCells.get(c.id), range),
      ...(valRunTimes ? { valAtBySeed: valRunTimes.get(c.id) ?? {} } : {}),
    };
  };
  const championEvidence = champion ? evidence.get(champion.id) ?? null : null;
  const unitScore = bestScore(champion ? side(champion) : null, 0.05);
  const score = {
    score: unitScore.score === null ? null : range[0] + unitScore.score * (range[1] - range[0]),
    ci: unitScore.ci ? intervalFromUnit(unitScore.ci, range) : null,
    source: unitScore.source,
  };
  const unitLift = champion && control && champion.id !== control.id ? liftOverControl(side(champion), side(control)) : null;
  const lift = unitLift ? { ...unitLift, lift: unitLift.lift * (range[1] - range[0]), ci: differenceFromUnit(unitLift.ci, range) } : null;
  const byId = new Map(candidates.map((c) => [c.id, {
    onlineCi: c.online.n > 0 ? finite(onlineInterval(evidence.get(c.id)?.online ?? c.online, 0.05, range)) : null,
    nSeeds: evidence.get(c.id)?.nSeeds ?? 0,
    valCi: c.val.n > 0 ? finite(valInterval(c.val, 0.05, range)) : null,
    missingRewardRate: verdicts.get(c.id)?.rate ?? null,
    missingRewardsFlagged: verdicts.get(c.id)?.flagged ?? false,
  }]));
  // The control's figure as best_score computes the champion's (seed-level when rewards carry seeds):
  // a baseline champion reports one number in both fields. Same source or none: while best_score is
  // a val mean and the control has no val reward yet, its online mean beside it compared two
  // different measurements (a champion at 0.000 on one val seed beside a control at 0.450 online).
  const controlEvidence = control ? evidence.get(control.id) ?? null : null;
  const controlStats = score.source === 'val' ? controlEvidence?.val : controlEvidence?.online;
  const baselineScore = controlStats && controlStats.n > 0 ? controlStats.mean : null;
  return {
    bestCandidateId: championId,
    bestScore: score.score,
    bestScoreCi: score.ci ? finite(score.ci) : null,
    bestScoreSource: score.source,
    bestScoreN: champion ? (score.source === 'val' ? champion.val.n : champion.online.n) : 0,
    bestScoreNSeeds: championEvidence ? (score.source === 'val' ? championEvidence.valSeeds : championEvidence.nSeeds) : 0,
    baselineScore,
    lift: lift ? { estimate: lift.lift, ci: lift.ci, paired: lift.paired, source: lift.source, n: lift.n, significant: lift.significant } : null,
    phase: phaseOf(job, control),
    byId,
  };
}

interface Evidence { online: RunningStats; val: RunningStats; nSeeds: number; valSeeds: number }

/**
 * The statistics a candidate's intervals are computed on: seed-level when its rewards carry seeds
 * (each seed's mean is one observation), per reward otherwise; likewise on val, from the per-seed
 * val means when they were read.
 */
function evidenceOf(c: CandidateRecord, cells: readonly SeedCell[] | undefined, valSeeds: Readonly<Record<number, number>> | undefined): Evidence {
  const online = cells && cells.length > 0 ? clusteredStats(cells) : { stats: c.online, nSeeds: 0 };
  const perSeedVal = valSeeds ? Object.values(valSeeds) : [];
  return {
    online: online.stats, nSeeds: online.nSeeds,
    val: perSeedVal.length > 0 ? statsOf(perSeedVal) : c.val, valSeeds: perSeedVal.length,
  };
}

function phaseOf(job: JobRecord, control: CandidateRecord | null): JobSummary['phase'] {
  if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return 'finished';
  if (!control) return 'awaiting_baseline';
  // Distinct seeds: the scheduler runs a seed listed twice once, so counting list entries kept a job
  // whose list repeats seeds in "bootstrap" long after its bootstrap rollouts were done.
  return control.online.n < new Set(job.config.mipro.bootstrap_train_seeds).size && job.proposalSeq === 0 ? 'bootstrap' : 'online';
}

/** Mean val reward per (candidate, seed), from val reward records. */
export function valRewardsBySeed(rewards: ReadonlyArray<{ candidateId: string; seed: number | null; reward: number }>): Map<string, Record<number, number>> {
  const sums = new Map<string, Map<number, { sum: number; n: number }>>();
  for (const r of rewards) {
    if (r.seed === null) continue;
    const bySeed = sums.get(r.candidateId) ?? new Map<number, { sum: number; n: number }>();
    const cell = bySeed.get(r.seed) ?? { sum: 0, n: 0 };
    bySeed.set(r.seed, { sum: cell.sum + r.reward, n: cell.n + 1 });
    sums.set(r.candidateId, bySeed);
  }
  return new Map([...sums].map(([id, bySeed]) => [id, Object.fromEntries([...bySeed].map(([seed, c]) => [seed, c.sum / c.n]))]));
}
