import { describe, expect, it } from 'vitest';
import { failureCause } from '../pipelineDiagnosis.js';

const arm = (trueMean: number, n: number, status: 'active' | 'retired' = 'active') => ({ trueMean, status, stats: { n, mean: trueMean, m2: 0 } });

describe('pipeline-3 failure causes', () => {
  const R = 10;
  it('names retirement only when every program within the tolerance of the best was retired', () => {
    expect(failureCause([arm(0.6, 500, 'retired'), arm(0.595, 300, 'retired'), arm(0.55, 900)], 0.55, R)).toBe('retired');
    expect(failureCause([arm(0.6, 500, 'retired'), arm(0.595, 300), arm(0.55, 900)], 0.55, R)).toBe('lost_with_data');
  });

  it('tells an unranked or starved best program from a near tie and a loss on data', () => {
    expect(failureCause([arm(0.6, 5), arm(0.55, 900)], 0.55, R)).toBe('never_ranked');
    expect(failureCause([arm(0.6, 60), arm(0.55, 900)], 0.55, R)).toBe('starved');
    expect(failureCause([arm(0.6, 600), arm(0.585, 900)], 0.585, R)).toBe('near_tie');
    expect(failureCause([arm(0.6, 600), arm(0.57, 900)], 0.57, R)).toBe('lost_with_data');
  });
});
