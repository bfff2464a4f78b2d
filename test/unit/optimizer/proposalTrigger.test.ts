import { describe, expect, it } from 'vitest';
import { chooseParent, proposalDecision, type ProposalTriggerInput } from '../../../src/optimizer/core/index.js';
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
  ])('does not propose: $name', ({ change, reason }) => {
    const d = proposalDecision({ ...ready, ...change });
    expect(d.propose).toBe(false);
    expect(d.room).toBe(0);
    expect(d.reason).toMatch(reason);
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
