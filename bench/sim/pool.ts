import { fork } from 'node:child_process';

/**
 * Runs jobs in worker processes (a queue, one job at a time per worker): `script --worker` must
 * answer each job message with its result. Every replicate is seeded by its index, so the numbers
 * do not depend on the number of workers or on which worker ran what. One worker or fewer: in-process.
 */
export async function runPool<J, S>(
  jobs: readonly J[],
  workers: number,
  script: string,
  runInProcess: (job: J) => S,
  done: (job: J) => void,
): Promise<S[]> {
  const out: S[] = new Array<S>(jobs.length);
  if (workers <= 1) {
    jobs.forEach((job, i) => {
      out[i] = runInProcess(job);
      done(job);
    });
    return out;
  }
  let next = 0;
  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = fork(script, ['--worker']);
      let current = -1;
      const feed = (): void => {
        if (next >= jobs.length) {
          child.disconnect();
          return;
        }
        current = next++;
        child.send(jobs[current] as object);
      };
      child.on('message', (summary: S) => {
        out[current] = summary;
        done(jobs[current]!);
        feed();
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench worker exited with ${code}`))));
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, runWorker));
  return out;
}
