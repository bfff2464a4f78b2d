/** A task run on a schedule; `stop` ends the schedule and waits for a pass in progress (before the store closes). */
export interface PeriodicTask {
  stop(): Promise<void>;
}

/**
 * Runs `pass` every `intervalMs` (and once at once with `runAtStart`), never two passes at a time:
 * a pass still running when the next is due is not doubled. The timer does not keep the process
 * alive. `pass` handles its own failures (a rejected pass is only awaited by `stop`, never thrown).
 */
export function startPeriodicTask(pass: () => Promise<void>, intervalMs: number, opts: { runAtStart?: boolean } = {}): PeriodicTask {
  let running: Promise<void> | null = null;
  const run = (): void => {
    if (running) return;
    running = pass().catch(() => undefined).finally(() => {
      running = null;
    });
  };
  if (opts.runAtStart) run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
