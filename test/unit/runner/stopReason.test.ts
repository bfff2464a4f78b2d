import { describe, expect, it } from 'vitest';
import { JobRuntime } from '../../../src/optimizer/runner/jobRuntime.js';
import { stopReason } from '../../../src/optimizer/runner/stopCheck.js';
import type { JobConfig } from '../../../src/schemas/jobConfig.js';
import type { CandidateRecord, JobRecord } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

/** Welford moments of a list of rewards. */
const stats = (xs: readonly number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { n: xs.length, mean, m2: xs.reduce((a, x) => a + (x - mean) ** 2, 0) };
};
const candidate = (id: string, ordinal: number, online: number[], val: number[]): CandidateRecord => ({
  jobId: 'pl_x', id, parentId: ordinal === 0 ? null : 'baseline', status: 'active', instruction: id, module: null, instructions: {}, demos: {}, tip: null, proposalId: null,
  ordinal, dispatches: online.length, online: stats(online), rewardsInUnitInterval: false, val: val.length > 0 ? stats(val) : { n: 0, mean: 0, m2: 0 },
  monitor: { n: 0, mean: 0, m2: 0 }, monitorInUnitInterval: true, createdAt: '', retiredAt: null,
});

describe('stop rule reason on a reward_range other than [0, 1]', () => {
  it('states epsilon and the bounds in reward units, as the rule was configured', async () => {
    const config: JobConfig = {
      ...sampleConfig,
      mipro: { ...sampleConfig.mipro, reward_range: [0, 100], online_proposer_max_candidates: 2, val_seeds: [100], stop_when_identified: { epsilon: 5, delta: 0.05 } },
    };
    const rt = new JobRuntime({ id: 'pl_x', config, usage: { proposer: { calls: 0, total_tokens: 0 } } } as unknown as JobRecord);
    // The champion always scores 90, the baseline always 10: identified within 5 points at once.
    rt.candidates = [candidate('baseline', 0, Array(400).fill(10), []), candidate('cand_a', 1, Array(400).fill(90), [90])];
    const reason = await stopReason(rt, { valSeedsIssued: async () => new Map([['cand_a', [100]]]), poolUnsettled: async () => false });
    expect(reason).toMatch(/^stop_when_identified: cand_a identified within 5 at confidence 0.95, lower bound (\d+\.\d+) \(best rival baseline: upper bound (\d+\.\d+)\)$/);
    const [, lower, upper] = /lower bound (\d+\.\d+).*upper bound (\d+\.\d+)/.exec(reason!)!.map(Number);
    // In points of the 0-100 score: the champion's bound below 90, the rival's above 10.
    expect(lower).toBeGreaterThan(50);
    expect(lower).toBeLessThanOrEqual(90);
    expect(upper).toBeGreaterThanOrEqual(10);
    expect(upper).toBeLessThan(50);
  });
});
