import type { Candidate, Job } from '../sdk/index.js';

/** How jobs and candidates read in the terminal; shared by `jobs` and `candidates`. */

/** Scores and their bounds always with three decimals, so columns line up and 1 reads as 1.000. */
const score = (v: number): string => v.toFixed(3);

export function formatInterval(ci: readonly [number, number] | null): string {
  return ci ? `[${score(ci[0])}, ${score(ci[1])}]` : '';
}

/** `0.712 [0.650, 0.770] val` — a score is never shown without its interval when there is one. */
export function formatBestScore(job: Job): string {
  if (job.best_score === null) return '-';
  const parts = [score(job.best_score), formatInterval(job.best_score_ci), job.best_score_source ?? ''];
  return parts.filter((p) => p !== '').join(' ');
}

export function jobRow(job: Job): Record<string, unknown> {
  return {
    job_id: job.job_id,
    name: job.name,
    status: job.status,
    rollouts: job.max_rollouts ? `${job.rollout_count}/${job.max_rollouts}` : job.rollout_count,
    rewards: job.reward_count,
    best: formatBestScore(job),
    candidates: job.candidate_count ?? job.candidates?.length ?? null,
    proposals: job.proposal_seq,
    created_at: job.created_at,
  };
}

export const JOB_COLUMNS = ['job_id', 'name', 'status', 'rollouts', 'rewards', 'best', 'candidates', 'proposals', 'created_at'];

const shorten = (text: string | null, max: number): string | null => {
  if (text === null) return null;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export function candidateRow(c: Candidate, instructionWidth = 60): Record<string, unknown> {
  return {
    candidate_id: c.candidate_id,
    status: c.status,
    parent: c.parent_id,
    rollouts: c.rollout_count,
    rewards: c.reward_count,
    avg_reward: c.avg_reward === null ? null : score(c.avg_reward),
    ci: formatInterval(c.ci) || null,
    val: c.val_score === null ? null : score(c.val_score),
    instruction: shorten(c.instruction, instructionWidth),
  };
}

export const CANDIDATE_COLUMNS = ['candidate_id', 'status', 'parent', 'rollouts', 'rewards', 'avg_reward', 'ci', 'val', 'instruction'];

/** The `jobs show` header: one fact per line, for people. */
export function jobDetailLines(job: Job): string[] {
  const lines: Array<[string, string]> = [
    ['job', job.job_id],
    ['name', job.name ?? '-'],
    ['status', `${job.status}${job.phase ? ` (${job.phase})` : ''}`],
    ['session', job.session_id],
    ['proxy url', job.proxy_url],
    ['rollouts', job.max_rollouts ? `${job.rollout_count} of ${job.max_rollouts}` : String(job.rollout_count)],
    ['rewards', String(job.reward_count)],
    ['proposals', String(job.proposal_seq)],
    ['best score', formatBestScore(job)],
    ['best candidate', job.best_candidate_id ?? '-'],
    ['baseline score', job.baseline_score === null ? '-' : score(job.baseline_score)],
    ['created', job.created_at],
    ['updated', job.updated_at],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

/** The live line of `jobs watch`. */
export function progressLine(job: Job): string {
  const rollouts = job.max_rollouts ? `${job.rollout_count}/${job.max_rollouts}` : String(job.rollout_count);
  const candidates = job.candidate_count ?? job.candidates?.length;
  return [
    `${job.status}`,
    `rollouts ${rollouts}`,
    `rewards ${job.reward_count}`,
    `best ${formatBestScore(job)}`,
    ...(candidates === undefined ? [] : [`candidates ${candidates}`]),
    `proposals ${job.proposal_seq}`,
  ].join(' | ');
}
