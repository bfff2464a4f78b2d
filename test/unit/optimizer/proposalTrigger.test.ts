import { describe, expect, it } from 'vitest';
import { childrenBeingMeasured, chooseParent, measuredRewards, proposalDecision, type ProposalTriggerInput } from '../../../src/optimizer/core/index.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import { bernoulliRewards, candidate } from './helpers.js';

const ready: ProposalTriggerInput = {
  jobStatus: 'running',
  rewardsSinceProposal: 20,
  minRollouts: 20,
  candidateCount: 3,
  maxCandidates: 20,
  proposalInFlight: false,
  rolloutCount: 100,
  maxRollouts: 1000,
  childrenBeingMeasured: () => 0,
};

describe('proposalDecision', () => {
  it('proposes when every condition holds, with the room left under the cap', () => {
    expect(proposalDecision(ready)).toMatchObject({ propose: true, room: 17 });
    expect(proposalDecision({ ...ready, maxRollouts: null }).propose).toBe(true);
  });

  it.each([
    { name: 'too few rewards since the last proposal', change: { rewardsSinceProposal: 19 }, reason: /waiting for rewards \(19\/20\)/ },
    { name: 'job paused', change: { jobStatus: 'paused' }, reason: /paused/ },
    { name: 'job cancelled', change: { jobStatus: 'cancelled' }, reason: /cancelled/ },
    { name: 'candidate cap reached (retired count too)', change: { candidateCount: 20 }, reason: /candidate limit/ },
    { name: 'proposal in flight', change: { proposalInFlight: true }, reason: /in flight/ },
    { name: 'budget exhausted', change: { rolloutCount: 1000 }, reason: /budget/ },
    { name: 'the last children not measured yet', change: { childrenBeingMeasured: () => 2 }, reason: /waiting for 2 new candidate\(s\) to be measured/ },
  ])('does not propose: $name', ({ change, reason }) => {
    const d = proposalDecision({ ...ready, ...change });
    expect(d.propose).toBe(false);
    expect(d.room).toBe(0);
    expect(d.reason).toMatch(reason);
  });

  it('asks for the children being measured only when everything else would let it propose', () => {
    let asked = 0;
    const count = () => { asked += 1; return 0; };
    proposalDecision({ ...ready, candidateCount: 20, childrenBeingMeasured: count });
    proposalDecision({ ...ready, proposalInFlight: true, childrenBeingMeasured: count });
    proposalDecision({ ...ready, rewardsSinceProposal: 1, childrenBeingMeasured: count });
    expect(asked).toBe(0);
    expect(proposalDecision({ ...ready, childrenBeingMeasured: count }).propose).toBe(true);
    expect(asked).toBe(1);
  });
});

describe('childrenBeingMeasured', () => {
  const R = 10;
  const child = (n: number, dispatches: number, inFlight: number, extra: { isControl?: boolean; status?: 'active' | 'retired' } = {}) => ({
    isControl: extra.isControl ?? false,
    status: extra.status ?? 'active',
    dispatches,
    inFlight,
    stats: { n, mean: 0.5, m2: 0.25 * n },
  });

  it('counts active children with fewer than half of R rewards while their first R rollouts are not all back', () => {
    expect(childrenBeingMeasured([child(0, 0, 0), child(4, 6, 2), child(4, 10, 1)], R)).toBe(3);
  });

  it('lets the next proposal go once each child has R/2 rewards, or all of its first R rollouts are back', () => {
    // 5 rewards (R / 2); 3 rewards but all 10 rollouts back (the rest went missing): neither holds the job back.
    expect(childrenBeingMeasured([child(5, 5, 0), child(3, 10, 0)], R)).toBe(0);
  });

  it('waits for R rewards in a program of several modules (module choice reads the lifts), R/2 in a one-prompt job', () => {
    const children = [child(5, 10, 5), child(9, 10, 1), child(10, 12, 2), child(4, 10, 0)];
    expect(childrenBeingMeasured(children, R, 3)).toBe(2);
    expect(childrenBeingMeasured(children, R, 1)).toBe(0);
    expect(childrenBeingMeasured(children, R)).toBe(0);
    expect(measuredRewards(R, 1)).toBe(5);
    expect(measuredRewards(R, 2)).toBe(10);
    expect(measuredRewards(3, 1)).toBe(2);
  });

  it('never waits on the control or on a retired candidate', () => {
    expect(childrenBeingMeasured([child(0, 0, 0, { isControl: true }), child(1, 3, 2, { status: 'retired' })], R)).toBe(0);
  });
});

describe('chooseParent', () => {
  const R = 10;
  it('draws among active candidates with at least R rewards, favouring the better ones', () => {
    const candidates = [
      candidate('baseline', { rewards: bernoulliRewards(100, 0.5) }),
      candidate('good', { rewards: bernoulliRewards(100, 0.7), createdOrder: 1 }),
      candidate('close', { rewards: bernoulliRewards(100, 0.66), createdOrder: 2 }),
      candidate('young', { rewards: [1, 1, 1], createdOrder: 3 }),
      candidate('retired', { rewards: bernoulliRewards(100, 0.95), createdOrder: 4, status: 'retired' }),
    ];
    const rng = createSeededRng(3);
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const id = chooseParent(candidates, R, rng)!;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.has('young')).toBe(false);
    expect(counts.has('retired')).toBe(false);
    expect(counts.get('good')!).toBeGreaterThan(counts.get('close')!);
    expect(counts.get('close')!).toBeGreaterThan(100);
  });

  it('falls back to the baseline when nobody has R rewards', () => {
    expect(chooseParent([candidate('baseline', { rewards: [1] }), candidate('a', { rewards: [1], createdOrder: 1 })], R, createSeededRng(1))).toBe(
      'baseline',
    );
    expect(chooseParent([], R, createSeededRng(1))).toBeNull();
  });
});
