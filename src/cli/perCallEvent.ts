import { type HttpClient, type Job, MiproOnlineSession, type SessionEvent, ValidationError } from '../sdk/index.js';

/**
 * The job's `mipro.rollout.per_call` event (a program's calls came without a rollout id), for `jobs
 * show`; null when it has none. Asked only of a job with several modules (no other gets one), and an
 * older server that does not know the type (a 422 on `event_type`) has none to tell.
 */
export async function perCallEvent(job: Job, http: HttpClient): Promise<SessionEvent | null> {
  if (job.modules.length < 2) return null;
  try {
    const [event] = await MiproOnlineSession.fromJob(job, http).events({ eventType: 'mipro.rollout.per_call', limit: 1 });
    return event ?? null;
  } catch (err) {
    if (err instanceof ValidationError) return null;
    throw err;
  }
}
