import { describe, expect, it } from 'vitest';
import { databaseClock } from '../../../src/shared/databaseClock.js';

describe('databaseClock', () => {
  it('follows the database read at the middle of its round trip, moved on by the monotonic clock, whatever the machine says', async () => {
    let mono = 1_000;
    let machine = 5_000_000;
    const clock = databaseClock({ now: () => machine }, () => mono);
    expect(clock.now()).toBe(5_000_000); // before the first sync: the machine's clock
    await clock.sync(async () => {
      mono += 40; // a 40 ms round trip, answered halfway
      return 9_000_000;
    });
    expect(clock.now()).toBe(9_000_020);
    machine -= 3_600_000; // the machine's clock steps back an hour: nothing moves
    mono += 1_000;
    expect(clock.now()).toBe(9_001_020);
  });

  it('never goes back when a later reading is a little behind', async () => {
    let mono = 0;
    const clock = databaseClock({ now: () => 0 }, () => mono);
    await clock.sync(async () => 1_000_000);
    mono += 100;
    expect(clock.now()).toBe(1_000_100);
    await clock.sync(async () => 1_000_050); // 50 ms behind this clock
    expect(clock.now()).toBe(1_000_100);
    mono += 80;
    expect(clock.now()).toBe(1_000_130);
  });

  it('follows the database back when its own clock stepped back by more than a second', async () => {
    let mono = 0;
    const clock = databaseClock({ now: () => 0 }, () => mono);
    await clock.sync(async () => 10_000_000);
    expect(clock.now()).toBe(10_000_000);
    await clock.sync(async () => 10_000_000 - 3_600_000);
    expect(clock.now()).toBe(10_000_000 - 3_600_000);
  });
});
