import { describe, expect, it } from 'vitest';
import { jobDetailLines } from '../../../src/cli/jobFormat.js';
import { printTable } from '../../../src/cli/output.js';
import type { Job } from '../../../src/sdk/index.js';

/** A job named "line one\nline\ttwo" (names are free text) split its row of `jobs list` over two lines. */
describe('text tables keep one line per row', () => {
  it('shows a cell with newlines and tabs on one line', () => {
    let out = '';
    printTable([{ job_id: 'pl_1', name: 'line one\nline\ttwo', status: 'running' }, { job_id: 'pl_2', name: null, status: 'paused' }], ['job_id', 'name', 'status'], { out: (s) => (out += s) });
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('pl_1    line one line two  running');
    expect(lines[2]).toBe('pl_2    -                  paused');
  });

  it('shows a job name with newlines on the name line of jobs show', () => {
    const job = { job_id: 'pl_1', name: 'line one\nline two', status: 'running', phase: null, session_id: 'sys_1', proxy_url: 'http://x', max_rollouts: null,
      rollout_count: 0, reward_count: 0, proposal_seq: 0, unmatched_prompts: 0, best_score: null, best_score_ci: null, best_score_source: null,
      best_candidate_id: null, baseline_score: null, served_candidate_id: null, guard: null, created_at: 't', updated_at: 't' } as unknown as Job;
    expect(jobDetailLines(job)).toContain('name            line one line two');
  });
});
