import { ConflictError } from '../shared/errors.js';
import { FINAL_STATUSES, type JobStatus } from '../store/types.js';

/**
 * The job state machine. `running <-> paused`, either -> `cancelled` | `succeeded` | `failed`; the last
 * three are final. Asking for the state a job is already in is a no-op (clients retry), anything else
 * not listed is a 409 that says why.
 */
export type JobAction = 'pause' | 'resume' | 'cancel' | 'succeed' | 'fail';

const TRANSITIONS: Record<JobAction, { from: readonly JobStatus[]; to: JobStatus }> = {
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  cancel: { from: ['running', 'paused'], to: 'cancelled' },
  succeed: { from: ['running', 'paused'], to: 'succeeded' },
  fail: { from: ['running', 'paused'], to: 'failed' },
};

export const STATE_TO_ACTION: Record<string, JobAction> = {
  paused: 'pause',
  running: 'resume',
  cancelled: 'cancel',
  canceled: 'cancel',
};

export function transitionFor(action: JobAction): { from: readonly JobStatus[]; to: JobStatus } {
  return TRANSITIONS[action];
}

export const isFinal = (s: JobStatus): boolean => FINAL_STATUSES.includes(s);

export function illegalTransition(action: JobAction, current: JobStatus): ConflictError {
  const why = isFinal(current) ? `it is ${current}, which is final` : `it is ${current}`;
  return new ConflictError(`cannot ${action} the job: ${why}`, [{ path: 'state', message: `illegal transition ${current} -> ${TRANSITIONS[action].to}` }]);
}
