import { describe, expect, it } from 'vitest';
import { guardVerdict, type ConfirmedScore, type GuardInput } from '../../../src/optimizer/core/guard.js';
import { addObservation, emptyStats, statsOf, wilsonInterval } from '../../../src/optimizer/core/index.js';
import { createSeededRng } from '../../../src/shared/rng.js';
import { bernoulliRewards } from './helpers.js';

/** A val-confirmed score of 0.8 on 40 seeds: Wilson [0.65, 0.90]. */
const confirmed: ConfirmedScore = { score: 0.8, ci: wilsonInterval(0.8, 40), source: 'val' };
const base = (over: Partial<GuardInput>): GuardInput => ({
  mode: 'alert', tripped: false, monitored: emptyStats(), unitInterval: true, confirmed, ...over,
});

describe('guardVerdict', () => {
  it.each([
    // [case, input, state, trip]
    ['off never watches', base({ mode: 'off', monitored: statsOf(bernoulliRewards(200, 0)) }), 'off', false],
    ['no monitored rewards yet', base({}), 'watching', false],
    ['a collapse on a few rewards is not yet evidence', base({ monitored: statsOf([0, 0, 0]) }), 'watching', false],
    ['rewards that hold', base({ monitored: statsOf(bernoulliRewards(500, 0.8)) }), 'watching', false],
    ['a small dip stays inside the noise', base({ monitored: statsOf(bernoulliRewards(200, 0.7)) }), 'watching', false],
    ['a collapse trips', base({ monitored: statsOf(bernoulliRewards(60, 0.1)) }), 'tripped', true],
    ['revert mode trips the same way', base({ mode: 'revert', monitored: statsOf(bernoulliRewards(60, 0.1)) }), 'tripped', true],
    ['already tripped: the alarm is raised once', base({ tripped: true, monitored: statsOf(bernoulliRewards(60, 0.1)) }), 'tripped', false],
    ['never measured: nothing to compare with', base({ confirmed: null, monitored: statsOf(bernoulliRewards(200, 0)) }), 'watching', false],
  ] as const)('%s', (_, input, state, trip) => {
    const v = guardVerdict(input);
    expect(v.state).toBe(state);
    expect(v.trip).toBe(trip);
  });

  it('reports the monitored interval, anytime-valid (wider than a fixed-n one)', () => {
    const monitored = statsOf(bernoulliRewards(100, 0.5));
    const v = guardVerdict(base({ monitored }));
    expect(v.interval).not.toBeNull();
    const [lo, hi] = v.interval!;
    const fixed = wilsonInterval(0.5, 100);
    expect(lo).toBeLessThan(fixed[0]);
    expect(hi).toBeGreaterThan(fixed[1]);
    expect(guardVerdict(base({})).interval).toBeNull();
  });

  it('rewards outside [0, 1]: a few identical low scores do not trip, many do', () => {
    const likert: ConfirmedScore = { score: 4.5, ci: [4.2, 4.8], source: 'val' };
    expect(guardVerdict(base({ confirmed: likert, unitInterval: false, monitored: statsOf([3, 3, 3]), priorVariance: 1 })).trip).toBe(false);
    const many = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 3 : 4));
    expect(guardVerdict(base({ confirmed: likert, unitInterval: false, monitored: statsOf(many), priorVariance: 1 })).trip).toBe(true);
  });

  /**
   * The point of an anytime-valid test: a candidate that holds its confirmed score, looked at after
   * every one of 1,000 monitored rewards, rarely trips the guard; a fixed-n interval looked at as
   * often would (it is the reason the guard uses a confidence sequence).
   */
  it('false alarms stay under 5% under repeated looks, where a fixed-n interval would not', () => {
    const rng = createSeededRng(15);
    const runs = 300;
    let guardTrips = 0;
    let naiveTrips = 0;
    for (let run = 0; run < runs; run++) {
      // The served candidate's true mean is 0.7; its confirmed val score comes from 50 seeds.
      const val = statsOf(Array.from({ length: 50 }, () => (rng.next() < 0.7 ? 1 : 0)));
      const conf: ConfirmedScore = { score: val.mean, ci: wilsonInterval(val.mean, val.n), source: 'val' };
      let monitored = emptyStats();
      let guard = false;
      let naive = false;
      for (let i = 0; i < 1000 && !(guard && naive); i++) {
        monitored = addObservation(monitored, rng.next() < 0.7 ? 1 : 0);
        guard ||= guardVerdict(base({ confirmed: conf, monitored })).trip;
        naive ||= wilsonInterval(monitored.mean, monitored.n)[1] < conf.ci[0];
      }
      if (guard) guardTrips++;
      if (naive) naiveTrips++;
    }
    expect(guardTrips / runs).toBeLessThanOrEqual(0.05);
    expect(naiveTrips / runs).toBeGreaterThan(guardTrips / runs);
  });
});
