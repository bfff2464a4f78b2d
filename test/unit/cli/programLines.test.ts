import { describe, expect, it } from 'vitest';
import { programLines } from '../../../src/cli/jobFormat.js';
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
