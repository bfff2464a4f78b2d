import { describe, expect, it } from 'vitest';
import { moduleHistory } from '../../../src/optimizer/runner/proposalRunner.js';
import type { CandidateRecord } from '../../../src/store/types.js';

const stats = (n: number, mean: number) => ({ n, mean, m2: 0 });

function program(id: string, instructions: Record<string, string>, n: number, mean = 0.5): CandidateRecord {
  return {
    jobId: 'j', id, parentId: id === 'baseline' ? null : 'baseline', status: 'active', instruction: '', module: null, instructions, demos: {},
    tip: null, proposalId: null, ordinal: 0, dispatches: n, online: stats(n, mean), rewardsInUnitInterval: true, val: stats(0, 0),
    monitor: stats(0, 0), monitorInUnitInterval: true, createdAt: '', retiredAt: null,
  } as CandidateRecord;
}

describe('the proposer\'s history of a module', () => {
  const retrieve = { name: 'retrieve', template: 'Retrieve.' };
  it('shows each text tried for the module once, with its most measured program, never the parent\'s text or an unscored one', () => {
    const candidates = [
      program('baseline', {}, 9, 0.55),
      program('cand_extract', { extract: 'Extract more.' }, 6, 0.67), // retrieve is the baseline's text here too
      program('cand_r1', { retrieve: 'Retrieve v1.' }, 3, 1),
      program('cand_r1_other', { retrieve: 'Retrieve v1.', extract: 'Extract more.' }, 12, 0.6),
      program('cand_r2', { retrieve: 'Retrieve v2.' }, 4, 0.4),
      program('cand_r3', { retrieve: 'Retrieve v3.' }, 0),
    ];
    const shown = moduleHistory(candidates, retrieve, 'Retrieve v2.');
    expect(shown.map((c) => c.id)).toEqual(['baseline', 'cand_r1_other']);
  });
});
