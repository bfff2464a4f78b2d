import { describe, expect, it } from 'vitest';
import { crossedCap, exhaustedCap } from '../../../src/optimizer/core/spend.js';
import { proposalDecision } from '../../../src/optimizer/core/proposalTrigger.js';

describe('proposer spend caps', () => {
  it.each([
    [{ calls: 0, totalTokens: 0 }, {}, null],
    [{ calls: 4, totalTokens: 10 }, { maxCalls: 5 }, null],
    [{ calls: 5, totalTokens: 10 }, { maxCalls: 5 }, 'max_calls'],
    [{ calls: 1, totalTokens: 999 }, { maxTotalTokens: 1000 }, null],
    [{ calls: 1, totalTokens: 1000 }, { maxTotalTokens: 1000 }, 'max_total_tokens'],
    [{ calls: 9, totalTokens: 9999 }, { maxCalls: 5, maxTotalTokens: 1000 }, 'max_calls'],
  ] as const)('spent %o under %o: %s', (spent, caps, want) => {
    expect(exhaustedCap(spent, caps)).toBe(want);
  });

  it('reports the crossing once: on the call that reached the cap, never after', () => {
    const caps = { maxTotalTokens: 500 };
    expect(crossedCap({ calls: 0, totalTokens: 0 }, { calls: 1, totalTokens: 340 }, caps)).toBeNull();
    expect(crossedCap({ calls: 1, totalTokens: 340 }, { calls: 2, totalTokens: 680 }, caps)).toBe('max_total_tokens');
    expect(crossedCap({ calls: 2, totalTokens: 680 }, { calls: 3, totalTokens: 1020 }, caps)).toBeNull();
  });

  it('stops the proposal trigger', () => {
    const base = { jobStatus: 'running', rewardsSinceProposal: 10, minRollouts: 5, candidateCount: 1, maxCandidates: 5, proposalInFlight: false, rolloutCount: 10, maxRollouts: null, childrenBeingMeasured: () => 0 };
    expect(proposalDecision(base).propose).toBe(true);
    expect(proposalDecision({ ...base, spendCapReached: 'max_calls' })).toMatchObject({ propose: false, reason: 'proposer budget exhausted (max_calls)' });
  });
});
