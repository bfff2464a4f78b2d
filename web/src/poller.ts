/**
 * Runs `tick` every `intervalMs` while the tab is visible, never two at once. Hidden tab: no requests;
 * back to visible: one tick at once. `tick` returns false to stop for good (e.g. the job is final).
 */
export interface Poller {
  stop(): void;
  /**
   * Runs a tick now (after an action), or right after the one running: that one may have read the
   * state before the action, and the next was otherwise a whole interval away.
   */
  poke(): void;
  /** True once stopped (by stop() or a tick that returned false): start a new poller to follow again. */
  stopped(): boolean;
}

export function startPolling(tick: () => Promise<boolean>, intervalMs: number, doc: Document = document): Poller {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running = false;
  let stopped = false;
  /** Poked while a tick ran: run again as soon as it ends. */
  let again = false;

  const schedule = () => {
    if (stopped || doc.hidden || timer !== null) return;
    timer = setTimeout(run, intervalMs);
  };
  const run = async () => {
    timer = null;
    if (stopped || running) return;
    if (doc.hidden) return; // resumed by visibilitychange
    running = true;
    let keepGoing = true;
    try {
      keepGoing = await tick();
    } catch {
      keepGoing = true; // tick reports its own errors; a blip must not end live updates
    } finally {
      running = false;
    }
    if (!keepGoing) stop();
    else if (again) {
      again = false;
      void run();
    } else schedule();
  };
  const onVisibility = () => {
    if (doc.hidden) {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    } else if (!running) {
      void run();
    }
  };
  const stop = () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    doc.removeEventListener('visibilitychange', onVisibility);
  };
  doc.addEventListener('visibilitychange', onVisibility);
  schedule();
  return {
    stop,
    stopped: () => stopped,
    poke: () => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      if (timer !== null) clearTimeout(timer);
      timer = null;
      void run();
    },
  };
}
