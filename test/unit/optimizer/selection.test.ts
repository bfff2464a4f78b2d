import { describe, expect, it } from 'vitest';
import { identificationPick, returnStintSlot, rewardModelFor, selectCandidate, type SelectionInput } from '../../../src/optimizer/core/index.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import { bernoulliRewards, candidate } from './helpers.js';

const R = 5;
const proven = (id: string, p: number, order: number, n = 200) =>
  candidate(id, { rewards: bernoulliRewards(n, p), createdOrder: order, dispatches: n });

describe('selectCandidate', () => {
  it('continues a stint while it has rollouts left', () => {
    const input: SelectionInput = {
      candidates: [proven('baseline', 0.5, 0), proven('a', 0.9, 1)],
      stint: { candidateId: 'baseline', remaining: 2 },
      rolloutsPerCandidate: R,
    };
    const s = selectCandidate(input, createSeededRng(1));
    expect(s).toEqual({ candidateId: 'baseline', reason: 'stint', stint: { candidateId: 'baseline', remaining: 1 } });
    const last = selectCandidate({ ...input, stint: { candidateId: 'baseline', remaining: 1 } }, createSeededRng(1));
    expect(last?.stint).toBeNull();
  });

  it('abandons the stint of a retired or capped candidate', () => {
    const candidates = [proven('baseline', 0.5, 0), candidate('a', { status: 'retired', createdOrder: 1, rewards: [1] })];
    const s = selectCandidate({ candidates, stint: { candidateId: 'a', remaining: 3 }, rolloutsPerCandidate: R }, createSeededRng(1));
    expect(s?.candidateId).toBe('baseline');
    const capped = [proven('baseline', 0.5, 0), candidate('b', { createdOrder: 1, dispatches: 5, inFlight: 5 })];
    const t = selectCandidate({ candidates: capped, stint: { candidateId: 'b', remaining: 3 }, rolloutsPerCandidate: R }, createSeededRng(1));
    expect(t?.candidateId).toBe('baseline');
  });

  it('serves the nursery fewest-dispatches first, oldest on ties, topping up to R', () => {
    const candidates = [
      proven('baseline', 0.5, 0),
      candidate('young', { createdOrder: 3, dispatches: 1 }),
      candidate('old', { createdOrder: 2, dispatches: 1 }),
      candidate('busier', { createdOrder: 1, dispatches: 3 }),
    ];
    const s = selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R }, createSeededRng(1));
    expect(s).toEqual({ candidateId: 'old', reason: 'nursery', stint: { candidateId: 'old', remaining: R - 1 - 1 } });
  });

  it('caps the in-flight rollouts of an unproven candidate so a burst goes elsewhere', () => {
    const candidates = [proven('baseline', 0.5, 0), candidate('new', { createdOrder: 1, dispatches: 3, inFlight: 3 })];
    const s = selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R, inFlightCap: 3 }, createSeededRng(1));
    expect(s?.candidateId).toBe('baseline');
    // Default cap is max(1, R): below it, the nursery candidate is served.
    const t = selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R }, createSeededRng(1));
    expect(t).toMatchObject({ candidateId: 'new', reason: 'nursery' });
  });

  it('never selects a retired candidate, even a far better one', () => {
    const candidates = [proven('baseline', 0.2, 0), { ...proven('gone', 0.99, 1), status: 'retired' as const }, proven('ok', 0.3, 2)];
    const rng = createSeededRng(3);
    for (let i = 0; i < 500; i++) {
      expect(selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R }, rng)?.candidateId).not.toBe('gone');
    }
  });

  it('Thompson sampling favours the better candidate and starts a stint of R - 1', () => {
    const candidates = [proven('baseline', 0.5, 0), proven('a', 0.6, 1), proven('b', 0.4, 2)];
    const rng = createSeededRng(11);
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const s = selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R, controlFloor: 0 }, rng)!;
      expect(s.reason).toBe('thompson');
      expect(s.stint).toEqual({ candidateId: s.candidateId, remaining: R - 1 });
      counts.set(s.candidateId, (counts.get(s.candidateId) ?? 0) + 1);
    }
    expect(counts.get('a') ?? 0).toBeGreaterThan(1800);
    expect(counts.get('b') ?? 0).toBeLessThan(20);
  });

  it('forces the control with the floor probability while it is below its share', () => {
    // The control is hopeless and holds 1% of dispatches: only the floor ever picks it.
    const candidates = [
      { ...proven('baseline', 0.1, 0, 100) },
      { ...proven('a', 0.9, 1, 9900) },
    ];
    const rng = createSeededRng(5);
    const draws = 20_000;
    let floor = 0;
    for (let i = 0; i < draws; i++) {
      const s = selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R, controlFloor: 0.1 }, rng)!;
      if (s.reason === 'control_floor') {
        floor += 1;
        expect(s.candidateId).toBe('baseline');
      }
    }
    expect(floor / draws).toBeGreaterThan(0.09);
    expect(floor / draws).toBeLessThan(0.11);
  });

  it('does not force the control once it already holds its share of dispatches', () => {
    const candidates = [proven('baseline', 0.1, 0, 100), proven('a', 0.9, 1, 100)];
    const rng = createSeededRng(5);
    for (let i = 0; i < 2000; i++) {
      expect(selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R, controlFloor: 0.1 }, rng)?.reason).toBe('thompson');
    }
  });

  it('is deterministic for the same seed and input', () => {
    const candidates = [proven('baseline', 0.5, 0, 30), proven('a', 0.55, 1, 30), proven('b', 0.52, 2, 30)];
    const run = (seed: number): string[] => {
      const rng = createSeededRng(seed);
      return Array.from({ length: 50 }, () => selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R }, rng)!.candidateId);
    };
    expect(run(99)).toEqual(run(99));
    expect(run(99)).not.toEqual(run(100));
  });

  it('falls back to the control when everything is capped, and returns null with nothing to serve', () => {
    const candidates = [
      candidate('baseline', { dispatches: 1, inFlight: 1 }),
      candidate('a', { createdOrder: 1, dispatches: 1, inFlight: 1 }),
    ];
    expect(selectCandidate({ candidates, stint: null, rolloutsPerCandidate: 1 }, createSeededRng(1))).toEqual({
      candidateId: 'baseline',
      reason: 'fallback',
      stint: null,
    });
    expect(selectCandidate({ candidates: [], stint: null, rolloutsPerCandidate: 1 }, createSeededRng(1))).toBeNull();
  });

  it('works with unbounded rewards (normal model)', () => {
    const candidates = [
      candidate('baseline', { rewards: [10, 12, 11, 9, 10, 11], unitInterval: false }),
      candidate('a', { rewards: [30, 31, 29, 30, 32, 28], unitInterval: false, createdOrder: 1 }),
    ];
    const rng = createSeededRng(8);
    const picks = Array.from({ length: 200 }, () => selectCandidate({ candidates, stint: null, rolloutsPerCandidate: 2, controlFloor: 0 }, rng)!.candidateId);
    expect(picks.filter((p) => p === 'a').length).toBeGreaterThan(190);
  });
  describe('identification phase (pool final)', () => {
    // 'a' leads after 600 rewards; 'b' had one unlucky stint of 20 and is starved by Thompson
    // sampling, but its optimistic bound still reaches above a's pessimistic one; 'c' is well
    // measured and clearly behind; the control is far behind.
    const candidates = [
      proven('baseline', 0.5, 0, 600),
      proven('a', 0.7, 1, 600),
      proven('b', 0.55, 2, 20),
      proven('c', 0.65, 3, 600),
    ];
    const shares = (identify: boolean, seed: number): Map<string, number> => {
      const rng = createSeededRng(seed);
      const counts = new Map<string, number>();
      for (let i = 0; i < 2000; i++) {
        const s = selectCandidate({ candidates, stint: null, rolloutsPerCandidate: R, controlFloor: 0, identify }, rng)!;
        if (identify) {
          expect(s.reason).toBe('identify');
          expect(s.stint).toEqual({ candidateId: s.candidateId, remaining: R - 1 });
        }
        counts.set(s.candidateId, (counts.get(s.candidateId) ?? 0) + 1 / 2000);
      }
      return counts;
    };

    it('splits fresh stints between the leader and the challenger with the highest upper bound', () => {
      const counts = shares(true, 21);
      expect(counts.get('a') ?? 0).toBeGreaterThan(0.45);
      expect(counts.get('b') ?? 0).toBeGreaterThan(0.45);
      expect(counts.get('c') ?? 0).toBe(0);
      expect(counts.get('baseline') ?? 0).toBe(0);
    });

    it('samples the starved challenger far more than Thompson sampling does', () => {
      expect(shares(false, 21).get('b') ?? 0).toBeLessThan(0.15);
    });

    it('returns to Thompson sampling once the leader is told apart from every challenger', () => {
      const settled = [proven('baseline', 0.5, 0, 2000), proven('a', 0.8, 1, 2000), proven('b', 0.6, 2, 2000)];
      const rng = createSeededRng(4);
      for (let i = 0; i < 200; i++) {
        const s = selectCandidate({ candidates: settled, stint: null, rolloutsPerCandidate: R, controlFloor: 0, identify: true }, rng)!;
        expect(s).toMatchObject({ candidateId: 'a', reason: 'thompson' });
      }
    });

    it('keeps the nursery, the stint and the control floor ahead of the phase', () => {
      const young = [...candidates, candidate('new', { createdOrder: 4, dispatches: 2 })];
      expect(selectCandidate({ candidates: young, stint: null, rolloutsPerCandidate: R, identify: true }, createSeededRng(1))?.reason).toBe('nursery');
      const s = selectCandidate({ candidates, stint: { candidateId: 'c', remaining: 2 }, rolloutsPerCandidate: R, identify: true }, createSeededRng(1));
      expect(s).toMatchObject({ candidateId: 'c', reason: 'stint' });
    });

    it('needs two candidates and uses posterior sd for unbounded rewards', () => {
      const model = rewardModelFor(candidates);
      expect(identificationPick(candidates.slice(0, 1), model, createSeededRng(1))).toBeUndefined();
      const unbounded = [
        candidate('baseline', { rewards: [10, 12, 11, 9, 10, 11, 10, 12], unitInterval: false }),
        candidate('a', { rewards: [30, 31, 29, 30, 32, 28, 30, 30], unitInterval: false, createdOrder: 1 }),
      ];
      // 20 points apart with sd about 1: told apart, so the phase defers to Thompson sampling.
      expect(identificationPick(unbounded, rewardModelFor(unbounded), createSeededRng(1))).toBeUndefined();
      const close = [
        candidate('baseline', { rewards: [10, 14, 8, 12, 9, 11], unitInterval: false }),
        candidate('a', { rewards: [11, 15, 9, 13, 10, 12], unitInterval: false, createdOrder: 1 }),
      ];
      expect(identificationPick(close, rewardModelFor(close), createSeededRng(1))).toBeDefined();
    });
  });
});

describe('returnStintSlot (a choice taken back: the rollout id was known)', () => {
  it("gives the candidate's stint its slot back, also its last one, and leaves another candidate's stint alone", () => {
    expect(returnStintSlot({ candidateId: 'a', remaining: 1 }, 'a')).toEqual({ candidateId: 'a', remaining: 2 });
    expect(returnStintSlot(null, 'a')).toEqual({ candidateId: 'a', remaining: 1 });
    expect(returnStintSlot({ candidateId: 'b', remaining: 2 }, 'a')).toEqual({ candidateId: 'b', remaining: 2 });
  });
});
