import { describe, expect, it } from 'vitest';
import { SpeculationBudget } from '../../../src/optimizer/runner/speculationBudget.js';

describe('SpeculationBudget', () => {
  it('allows at most maxCredits speculations in flight at once', () => {
    const b = new SpeculationBudget({ maxCredits: 3, claimsPerCredit: 1000 });
    expect([b.tryStart(), b.tryStart(), b.tryStart(), b.tryStart()]).toEqual([true, true, true, false]);
    b.end('confirmed');
    expect(b.tryStart()).toBe(true);
  });

  it('burns a credit per wasted speculation and earns one back per claimsPerCredit new ids, never above the cap', () => {
    const b = new SpeculationBudget({ maxCredits: 2, claimsPerCredit: 10 });
    for (let i = 0; i < 2; i++) {
      expect(b.tryStart()).toBe(true);
      b.end('wasted');
    }
    expect(b.tryStart()).toBe(false); // spent: no more speculation, whatever the traffic asks
    for (let i = 0; i < 9; i++) b.earn();
    expect(b.tryStart()).toBe(false);
    b.earn();
    expect(b.tryStart()).toBe(true);
    b.end('confirmed');
    for (let i = 0; i < 1000; i++) b.earn();
    expect(b.available).toBe(2);
  });

  it('bounds wasted calls by the cap plus one per claimsPerCredit new ids, however they interleave', () => {
    const b = new SpeculationBudget({ maxCredits: 16, claimsPerCredit: 1000 });
    let wasted = 0;
    let newIds = 0;
    // Adversarial traffic: every speculation that starts is wasted; one id in ten is new.
    for (let i = 0; i < 100_000; i++) {
      if (i % 10 === 0) {
        b.earn();
        newIds += 1;
      } else if (b.tryStart()) {
        b.end('wasted');
        wasted += 1;
      }
    }
    expect(wasted).toBeLessThanOrEqual(16 + newIds / 1000);
  });
});
