import { confirmationTargets } from '../optimizer/core/champion.js';
import { nextSeed } from '../optimizer/core/seedScheduler.js';
import type { OnlineEngine } from '../optimizer/runner/engine.js';
import { ConflictError } from '../shared/errors.js';
import { BASELINE_ID } from '../shared/ids.js';
import type { JobRecord, Split, Store } from '../store/types.js';
import { isFinal } from './jobLifecycle.js';

export interface ScheduledRollout { rolloutId: string; seed: number; split: Split; candidateId: string }

/**
 * The seed scheduler behind POST .../rollouts: bootstrap seeds first (on the baseline), then the
 * online pool (the bandit picks), with val rollouts interleaved to confirm the champion against the
 * control. Calls for one job are serialised on this instance so two callers never get the same slot.
 */
export class SchedulerService {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly store: Store, private readonly engine: OnlineEngine) {}

  next(job: JobRecord): Promise<ScheduledRollout> {
    if (isFinal(job.status)) return Promise.reject(new ConflictError(`job ${job.id} is ${job.status}; it schedules no more rollouts`));
    const previous = this.queues.get(job.id) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.schedule(job));
    this.queues.set(job.id, run);
    void run.finally(() => {
      if (this.queues.get(job.id) === run) this.queues.delete(job.id);
    }).catch(() => undefined);
    return run;
  }

  private async schedule(job: JobRecord): Promise<ScheduledRollout> {
    const rt = await this.engine.runtimeFor(job);
    const mipro = rt.job.config.mipro;
    const [issued, valSeeds] = await Promise.all([this.store.rolloutSplitCounts(job.id), this.store.valSeedsIssued(job.id)]);
    const targets = confirmationTargets(rt.views(), mipro.online_rollouts_per_candidate);
    const assignment = nextSeed({
      bootstrapSeeds: mipro.bootstrap_train_seeds,
      onlinePool: mipro.online_pool,
      valSeeds: mipro.val_seeds,
      issued,
      controlId: BASELINE_ID,
      confirm: targets.map((candidateId) => ({ candidateId, seedsIssued: valSeeds.get(candidateId) ?? [] })),
    });
    const { rolloutId, candidateId } = await this.engine.schedule(rt, {
      seed: assignment.seed, split: assignment.split, ...(assignment.assignCandidateId ? { assignCandidateId: assignment.assignCandidateId } : {}),
    });
    return { rolloutId, seed: assignment.seed, split: assignment.split, candidateId };
  }
}
