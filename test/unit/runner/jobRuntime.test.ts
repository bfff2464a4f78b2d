import { describe, expect, it } from 'vitest';
import { JobRuntime } from '../../../src/optimizer/runner/jobRuntime.js';
import type { CandidateRecord, JobRecord } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

const job = { id: 'pl_x', config: sampleConfig } as unknown as JobRecord;
const candidate = (id: string, ordinal: number): CandidateRecord => ({
  jobId: 'pl_x', id, parentId: ordinal === 0 ? null : 'baseline', status: 'active', instruction: id, module: null, instructions: {}, demos: {}, tip: null, proposalId: null,
  ordinal, dispatches: 0, online: { n: 0, mean: 0, m2: 0 }, rewardsInUnitInterval: true, val: { n: 0, mean: 0, m2: 0 },
  monitor: { n: 0, mean: 0, m2: 0 }, monitorInUnitInterval: true,
  createdAt: '', retiredAt: null,
});

describe('JobRuntime in-flight accounting', () => {
  it('counts in-flight rollouts per candidate through start, end and expiry', () => {
    const rt = new JobRuntime(job);
    rt.candidates = [candidate('baseline', 0), candidate('cand_a', 1)];
    rt.startInFlight('r1', 'cand_a', 0);
    rt.startInFlight('r2', 'cand_a', 10);
    rt.startInFlight('r2', 'cand_a', 10); // the same rollout twice counts once
    rt.startInFlight('r3', 'baseline', 20);
    expect(rt.views().map((v) => [v.id, v.inFlight])).toEqual([['baseline', 1], ['cand_a', 2]]);
    rt.endInFlight('r2');
    rt.endInFlight('r2');
    expect(rt.inFlightOf('cand_a')).toBe(1);
    rt.expireInFlight(1_000, 995); // r1 (t=0) is older than 995 ms, r3 (t=20) is not
    expect(rt.inFlightOf('cand_a')).toBe(0);
    expect(rt.inFlightOf('baseline')).toBe(1);
  });

  it('applies a reward to the cached statistics exactly like Welford', () => {
    const rt = new JobRuntime(job);
    rt.candidates = [candidate('baseline', 0)];
    for (const x of [1, 0, 1, 1]) rt.applyReward('baseline', x, 'online');
    rt.applyReward('baseline', 2, 'val');
    const c = rt.candidates[0]!;
    expect(c.online.n).toBe(4);
    expect(c.online.mean).toBeCloseTo(0.75, 12);
    expect(c.online.m2).toBeCloseTo(0.75, 12); // sum of squared deviations: 3*(0.25^2) + 0.75^2
    expect(c.val).toEqual({ n: 1, mean: 2, m2: 0 });
    expect(c.rewardsInUnitInterval).toBe(true);
  });
});
