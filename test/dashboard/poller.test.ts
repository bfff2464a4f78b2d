import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startPolling } from '../../web/src/poller.js';

/** Just enough of `document` for the poller: a hidden flag and visibilitychange. */
class FakeDocument extends EventTarget {
  hidden = false;
  setHidden(hidden: boolean) {
    this.hidden = hidden;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

describe('live polling', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ticks every interval while visible, none while hidden, one at once on return', async () => {
    const doc = new FakeDocument();
    let ticks = 0;
    const poller = startPolling(async () => {
      ticks++;
      return true;
    }, 2000, doc as unknown as Document);
    await vi.advanceTimersByTimeAsync(6100);
    expect(ticks).toBe(3);
    doc.setHidden(true);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(ticks).toBe(3);
    doc.setHidden(false);
    await vi.advanceTimersByTimeAsync(10);
    expect(ticks).toBe(4);
    await vi.advanceTimersByTimeAsync(2000);
    expect(ticks).toBe(5);
    poller.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ticks).toBe(5);
  });

  it('stops for good when the tick says so (a final job), and never overlaps ticks', async () => {
    const doc = new FakeDocument();
    let ticks = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const poller = startPolling(async () => {
      ticks++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise((resolve) => setTimeout(resolve, 5000)); // slower than the interval
      concurrent--;
      return ticks < 3;
    }, 1000, doc as unknown as Document);
    poller.poke();
    poller.poke();
    expect(poller.stopped()).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ticks).toBe(3);
    expect(maxConcurrent).toBe(1);
    // Says it stopped, so the page can start a new one (a promoted job whose guard watches).
    expect(poller.stopped()).toBe(true);
    doc.setHidden(true);
    doc.setHidden(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ticks).toBe(3);
  });

  it('runs a tick poked while one ran right after it, not an interval later (that one may predate an action)', async () => {
    const doc = new FakeDocument();
    const started: number[] = [];
    let finish: () => void = () => {};
    const poller = startPolling(() => {
      started.push(Date.now());
      return new Promise<boolean>((resolve) => { finish = () => resolve(true); });
    }, 2000, doc as unknown as Document);
    poller.poke();
    expect(started).toHaveLength(1);
    poller.poke(); // an action was answered while the first tick reads
    poller.poke();
    await vi.advanceTimersByTimeAsync(100);
    expect(started).toHaveLength(1); // never two at once
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toHaveLength(2); // at once, once
    expect(started[1]! - started[0]!).toBe(100);
    finish();
    await vi.advanceTimersByTimeAsync(1999);
    expect(started).toHaveLength(2); // then back to the interval
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toHaveLength(3);
    poller.stop();
  });
});
