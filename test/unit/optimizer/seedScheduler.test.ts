import { describe, expect, it } from 'vitest';
import { nextSeed, type SeedSchedulerState, type SeedSplit } from '../../../src/optimizer/core/index.js';

const base: SeedSchedulerState = {
  bootstrapSeeds: [0, 1, 2],
  onlinePool: [10, 11, 12, 13, 14],
  valSeeds: [100, 101, 102],
  issued: { bootstrap: 0, online: 0, val: 0 },
  controlId: 'baseline',
  confirm: [],
};

/** Runs the scheduler `steps` times, feeding issued counts (and val seeds) back in as a runner would. */
function drive(state: SeedSchedulerState, steps: number, confirmIds: string[] = []) {
  const issued: Record<SeedSplit, number> = { ...state.issued };
  const valIssued = new Map<string, number[]>(confirmIds.map((id) => [id, []]));
  const out = [];
  for (let i = 0; i < steps; i++) {
    const confirm = confirmIds.map((id) => ({ candidateId: id, seedsIssued: valIssued.get(id)! }));
    const a = nextSeed({ ...state, issued, confirm });
    issued[a.split] += 1;
    if (a.split === 'val') valIssued.get(a.assignCandidateId!)!.push(a.seed);
    out.push(a);
  }
  return { out, valIssued };
}

describe('nextSeed', () => {
  it('runs every bootstrap seed once, on the baseline, before anything else', () => {
    const { out } = drive(base, 5, ['cand_1', 'baseline']);
    expect(out.slice(0, 3)).toEqual([0, 1, 2].map((seed) => ({ seed, split: 'bootstrap', assignCandidateId: 'baseline' })));
    expect(out.slice(3).every((a) => a.split !== 'bootstrap')).toBe(true);
  });

  it('then cycles the online pool and leaves the candidate to the bandit', () => {
    const { out } = drive({ ...base, bootstrapSeeds: [] }, 12);
    expect(out.map((a) => a.seed)).toEqual([10, 11, 12, 13, 14, 10, 11, 12, 13, 14, 10, 11]);
    expect(out.every((a) => a.split === 'online' && a.assignCandidateId === undefined)).toBe(true);
  });

  it('never uses val seeds while there is nothing to confirm', () => {
    const { out } = drive(base, 200);
    expect(out.some((a) => a.split === 'val' || base.valSeeds.includes(a.seed))).toBe(false);
  });

  it('interleaves val rollouts one in four to confirm each target on every val seed once', () => {
    const targets = ['cand_3', 'baseline', 'cand_1'];
    const { out, valIssued } = drive({ ...base, bootstrapSeeds: [] }, 60, targets);
    const val = out.filter((a) => a.split === 'val');
    expect(val).toHaveLength(9);
    out.forEach((a, i) => {
      if (a.split === 'val') expect(i % 4).toBe(3);
    });
    for (const id of targets) expect([...valIssued.get(id)!].sort()).toEqual([100, 101, 102]);
    // Champion and control walk the val seeds in the same order, so their scores pair up early.
    expect(val.slice(0, 3).map((a) => [a.assignCandidateId, a.seed])).toEqual([
      ['cand_3', 100],
      ['baseline', 100],
      ['cand_1', 100],
    ]);
    expect(out.slice(40).every((a) => a.split === 'online')).toBe(true);
  });

  it('honours a custom val cadence', () => {
    const { out } = drive({ ...base, bootstrapSeeds: [], valEvery: 2 }, 6, ['cand_1']);
    expect(out.map((a) => a.split)).toEqual(['online', 'val', 'online', 'val', 'online', 'val']);
  });

  it('rejects an empty online pool with a validation error', () => {
    expect(() => nextSeed({ ...base, bootstrapSeeds: [], onlinePool: [] })).toThrow(/online pool/);
  });
});
