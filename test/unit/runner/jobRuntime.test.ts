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

describe('JobRuntime seed-level statistics (issue 12)', () => {
  it('keeps each candidate\'s seed-level statistics current on every reward, as the stored cells would give', () => {
    const rt = new JobRuntime(job);
    rt.candidates = [candidate('baseline', 0)];
    // 40 rewards over 2 seeds: seed 3 always succeeds, seed 4 never.
    for (let i = 0; i < 40; i++) rt.applyReward('baseline', i % 2 === 0 ? 1 : 0, 'online', i % 2 === 0 ? 3 : 4);
    rt.applyReward('baseline', 1, 'val', 100); // val never enters the training statistics
    const view = rt.views()[0]!;
    expect(view.stats.n).toBe(40);
    expect(view.seedStats).toEqual({ n: 2, mean: 0.5, m2: 0.5 });
    expect([...rt.seedMeansOf('baseline')]).toEqual([[3, 1], [4, 0]]);
    expect(rt.staleLedgers()).toBe(false);
  });

  it('tells a stale ledger by its reward count and rebuilds it from stored cells', () => {
    const rt = new JobRuntime(job);
    const c = candidate('baseline', 0);
    c.online = { n: 6, mean: 0.5, m2: 1.5 }; // six rewards recorded, none seen by this instance
    rt.candidates = [c];
    expect(rt.staleLedgers()).toBe(true);
    rt.loadLedgers(new Map([['baseline', [{ seed: 1, n: 3, sum: 3, sumSq: 3 }, { seed: 2, n: 3, sum: 0, sumSq: 0 }]]]));
    expect(rt.staleLedgers()).toBe(false);
    expect(rt.views()[0]!.seedStats).toEqual({ n: 2, mean: 0.5, m2: 0.5 });
  });

  it('leaves seed-level statistics undefined for rewards without seeds (per-rollout statistics apply)', () => {
    const rt = new JobRuntime(job);
    rt.candidates = [candidate('baseline', 0)];
    for (const x of [1, 0, 1]) rt.applyReward('baseline', x, 'online');
    expect(rt.views()[0]!.seedStats).toBeUndefined();
  });
});

describe('JobRuntime ledger staleness', () => {
  it('re-reads cells for a few missed rewards on a small job, not for a race-sized gap on a big one', () => {
    const rt = new JobRuntime(job);
    const c = candidate('baseline', 0);
    rt.candidates = [c];
    rt.loadLedgers(new Map([['baseline', [{ seed: 1, n: 10_000, sum: 5_000, sumSq: 5_000 }]]]));
    c.online = { n: 10_050, mean: 0.5, m2: 2_500 }; // 50 rewards committed, not yet applied here: under 1%
    expect(rt.staleLedgers()).toBe(false);
    c.online = { n: 10_200, mean: 0.5, m2: 2_500 }; // 200 recorded elsewhere: re-read
    expect(rt.staleLedgers()).toBe(true);
    rt.loadLedgers(new Map([['baseline', [{ seed: 1, n: 10, sum: 5, sumSq: 5 }]]]));
    c.online = { n: 11, mean: 0.5, m2: 2.5 };
    expect(rt.staleLedgers()).toBe(true);
  });
});
