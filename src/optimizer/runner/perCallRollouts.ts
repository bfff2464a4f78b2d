import { JobGoneError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { FINAL_STATUSES, type NewEvent, type Store } from '../../store/types.js';
import type { JobRuntime } from './jobRuntime.js';

/**
 * Notices a program whose calls reach the proxy without a rollout id: each such call becomes a
 * rollout of its own, so the stages of one run of the app may be served different candidates, and
 * the run's one reward credits one call's rollout (and its candidate) while the others wait for a
 * reward that never comes. The proxy cannot tell that from a program whose runs make one call each,
 * and it changes nothing about routing; it says so once, as `mipro.rollout.per_call`, when calls of
 * two modules came that way, with how to tie a run's calls together (a per-rollout URL).
 *
 * Memory only, no write per call: once per job on each instance while it holds the job (again after
 * a restart, or when the instance reloads a job it had dropped as idle), so a cluster of N instances
 * may write up to N such events. An ended job is left alone: every new rollout gets the one candidate
 * it serves, whatever the stage.
 */
export class PerCallRollouts {
  constructor(private readonly deps: { store: Store; log: Logger }) {}

  /**
   * A call of `module` that came without a rollout id (in the path or `x-mipro-rollout-id`). Never
   * delays the call and never rejects: the report's write when this call makes one (for tests), else
   * undefined (no promise on the hot path).
   */
  note(rt: JobRuntime, module: string): Promise<void> | undefined {
    const seen = rt.perCallModules;
    // The hot path: reported already, or this module's calls were seen so before.
    if (seen === null || seen.has(module)) return undefined;
    if (FINAL_STATUSES.includes(rt.job.status)) return undefined;
    seen.add(module);
    if (seen.size < 2) return undefined;
    rt.perCallModules = null;
    return this.deps.store.appendEvent(rt.job.id, perCallEvent([...seen])).then(() => undefined, (err: unknown) => {
      // Not written (a database outage): the next such call of a new module, or of these, reports it.
      rt.perCallModules = seen;
      seen.clear();
      if (err instanceof JobGoneError) return;
      this.deps.log.warn({ err, jobId: rt.job.id }, 'calls without a rollout id not reported (the database refused the event); a later call reports it');
    });
  }
}

function perCallEvent(modules: string[]): NewEvent {
  return {
    eventType: 'mipro.rollout.per_call',
    message: `calls of modules ${modules.join(' and ')} came without a rollout id, so each became a rollout of its own: one run of the app may get a different candidate at each stage, and a reward for the run counts for one call's rollout only. If one run makes calls of several modules, send them all to one per-rollout URL ({proxy_url}/{rollout_id}; SDK: session.rolloutBaseUrl(id)) or with the x-mipro-rollout-id header, and reward that rollout id (a correlation id alone does not tie calls together)`,
    data: { modules },
  };
}
