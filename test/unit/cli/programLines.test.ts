import { describe, expect, it } from 'vitest';
import { jobDetailLines, programLines } from '../../../src/cli/jobFormat.js';
import type { Job } from '../../../src/sdk/index.js';

const modules = [
  { name: 'extract', template: 'Extract the entities.', origin: 'declared' as const },
  { name: 'answer', template: 'Answer from:\n{context}', origin: 'declared' as const },
];

describe('jobs show: the best program', () => {
  it('prints every module and marks the ones the best candidate changed', () => {
    const job = { modules, best_candidate_id: 'cand_a', best_program: { extract: 'Extract the entities.', answer: 'Quote it:\n{context}' } } as unknown as Job;
    expect(programLines(job).join('\n')).toContain('best program (cand_a):\n  extract:\n    Extract the entities.\n  answer: (changed)\n    Quote it:\n    {context}');
    const baseline = { ...job, best_candidate_id: 'baseline', best_program: { extract: modules[0]!.template, answer: modules[1]!.template } } as Job;
    expect(programLines(baseline).join('\n')).not.toContain('(changed)');
  });
});

describe('jobs show: texts that matched no module', () => {
  const job = (unmatched: number | undefined) => ({
    job_id: 'pl_1', status: 'running', rollout_count: 3, reward_count: 1, proposal_seq: 0, best_score: null, best_candidate_id: null,
    baseline_score: null, served_candidate_id: null, modules, ...(unmatched === undefined ? {} : { unmatched_prompts: unmatched }),
  }) as unknown as Job;

  it('says how many passed through unchanged, and says nothing when none did (or an older server does not tell)', () => {
    expect(jobDetailLines(job(2)).find((l) => l.startsWith('unmatched'))).toMatch(/^unmatched +2 system texts matched no module and passed through unchanged \(mipro\.module\.unmatched events\)$/);
    expect(jobDetailLines(job(0)).some((l) => l.startsWith('unmatched'))).toBe(false);
    expect(jobDetailLines(job(undefined)).some((l) => l.startsWith('unmatched'))).toBe(false);
  });
});

/** A paused job's `serving` line said "- (optimizing)", though a paused job serves its best candidate to new rollouts. */
describe('jobs show: what a job serves', () => {
  const job = (status: string, served: string | null) => ({
    job_id: 'pl_1', status, rollout_count: 3, reward_count: 1, proposal_seq: 0, best_score: null, best_candidate_id: 'cand_b',
    baseline_score: null, served_candidate_id: served, modules,
  }) as unknown as Job;
  const serving = (j: Job) => jobDetailLines(j).find((l) => l.startsWith('serving'));

  it('says optimizing while it runs, the best candidate while paused, and what it serves once ended', () => {
    expect(serving(job('running', null))).toMatch(/^serving +- \(optimizing\)$/);
    expect(serving(job('paused', null))).toMatch(/^serving +cand_b \(paused: the best candidate, to new rollouts\)$/);
    expect(serving(job('succeeded', 'cand_b'))).toMatch(/^serving +cand_b$/);
  });
});
