import type { CandidateRecord, JobRecord } from '../store/types.js';

export interface CandidateSummary { onlineCi: [number, number] | null; valCi: [number, number] | null }

export interface JobSummary {
  bestCandidateId: string | null;
  bestScore: number | null;
  bestScoreCi: [number, number] | null;
  bestScoreSource: 'val' | 'online' | null;
  bestScoreN: number;
  baselineScore: number | null;
  lift: { estimate: number; ci: [number, number]; paired: boolean } | null;
  phase: string;
  byId: Map<string, CandidateSummary>;
}

// TEMPORARY until the optimizer core lands; replaced in the optimizer commit.
export function summarizeJob(job: JobRecord, candidates: CandidateRecord[]): JobSummary {
  return {
    bestCandidateId: job.bestCandidateId, bestScore: null, bestScoreCi: null, bestScoreSource: null, bestScoreN: 0,
    baselineScore: null, lift: null, phase: job.baselineInstruction ? 'online' : 'awaiting_baseline',
    byId: new Map(candidates.map((c) => [c.id, { onlineCi: null, valCi: null }])),
  };
}
