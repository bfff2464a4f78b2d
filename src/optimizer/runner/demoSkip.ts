import type { JobRuntime } from './jobRuntime.js';

/**
 * demos_only skips when no module has a demo, or when every demo set near the parents was tried;
 * before this memo every later reward ran the whole read path again (modules, blame, failures, one
 * demo pool per module) only to skip again. The answer can change only with what this key holds: a
 * reward that may add a demo (at or above demo_min_reward, counted by the engine), a new candidate,
 * a candidate's status or its becoming a parent (R rewards), a module, or the job's status or
 * proposal count (another instance proposed). Until one of them moves, the skip costs no read.
 *
 * A reward another instance received is not counted here, but that instance runs the read path
 * itself, and a candidate it adds moves this key once this instance's cache reads it.
 */
export function demoSkipKey(rt: JobRuntime): string {
  const R = rt.job.config.mipro.online_rollouts_per_candidate;
  return JSON.stringify([
    rt.demoSourceRewards, rt.job.status, rt.job.proposalSeq,
    rt.candidates.map((c) => [c.id, c.status, c.online.n >= R]),
    rt.modules.map((m) => [m.name, m.template]),
  ]);
}

/** Whether the last demos_only skip still holds: nothing it was decided on has moved. */
export function demoSkipHolds(rt: JobRuntime): boolean {
  return rt.demoSkip !== null && rt.demoSkip === demoSkipKey(rt);
}
