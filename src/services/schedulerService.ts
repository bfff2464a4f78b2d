import { flaggedIds, missingVerdicts } from '../optimizer/runner/missingRewards.js';
import { confirmationTargets } from '../optimizer/core/champion.js';
import { nextOnlineSeed, nextSeed, nextValWork, type SeedAssignment } from '../optimizer/core/seedScheduler.js';
import type { OnlineEngine } from '../optimizer/runner/engine.js';
import { ConflictError, JobGoneError } from '../shared/errors.js';
import { BASELINE_ID } from '../shared/ids.js';
import type { JobRecord, NewEvent, Split, Store } from '../store/types.js';
import { isFinal } from './jobLifecycle.js';
import { servedCandidateId } from '../optimizer/runner/guardWatch.js';
import { controlAwaitsConfirmation } from '../optimizer/runner/stopCheck.js';

/** Confirmation work (val rollouts) ends with the job; monitoring rollouts do not. */
function noConfirmationAfterEnd(job: JobRecord): ConflictError {
  return new ConflictError(`job ${job.id} is ${job.status}: no confirmation work is left after the end`);
}

/**
 * Whether `job`, read for this request, says something newer about what to serve than the cached
 * copy: another status or another served candidate, written later than the cache's copy (every
 * write of the row stamps updated_at; the cache may also be the newer one, e.g. this instance's own
 * promote or guard trip after the request read the job). An end is final: it always wins over a
 * running or paused copy, and a cached end is never replaced by one.
 */
function newerThanCache(job: JobRecord, cached: JobRecord): boolean {
  if (isFinal(cached.status) && !isFinal(job.status)) return false;
  if (isFinal(job.status) && !isFinal(cached.status)) return true;
  const moved = job.status !== cached.status || servedCandidateId(job) !== servedCandidateId(cached);
  return moved && Date.parse(job.updatedAt) >= Date.parse(cached.updatedAt);
}

/** Each lost race means another instance made progress, so a handful of attempts always suffices in practice. */
const MAX_ATTEMPTS = 16;

export interface ScheduledRollout { rolloutId: string; seed: number; split: Split; candidateId: string }

/**
 * The seed scheduler behind POST .../rollouts: bootstrap seeds first (on the baseline), then the
 * online pool (the bandit picks), with val rollouts interleaved to confirm the champion against the
 * control. Calls for one job are serialised on this instance so two callers never get the same slot.
 */
export class SchedulerService {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly store: Store, private readonly engine: OnlineEngine) {}

  /**
   * `valOnly`: only confirmation work (a final check of the champion against the control on held-out
   * seeds); a 409 says when none is left. After the end: monitoring rollouts of what the job serves.
   * `correlationId`: stored on the rollout, so a reward may name it.
   */
  next(job: JobRecord, opts: { valOnly?: boolean; correlationId?: string | null } = {}): Promise<ScheduledRollout> {
    if (isFinal(job.status) && opts.valOnly) return Promise.reject(noConfirmationAfterEnd(job));
    const previous = this.queues.get(job.id) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.schedule(job, opts.valOnly ?? false, opts.correlationId ?? null));
    this.queues.set(job.id, run);
    void run.finally(() => {
      if (this.queues.get(job.id) === run) this.queues.delete(job.id);
    }).catch(() => undefined);
    return run;
  }

  private async schedule(job: JobRecord, valOnly: boolean, correlationId: string | null): Promise<ScheduledRollout> {
    // Another instance may take the slot this one chose (the same bootstrap seed, the same val seed
    // for the same candidate); the database refuses the second, and this one reads again and moves on.
    let current = job;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const scheduled = await this.tryOnce(current, valOnly, correlationId);
      if (scheduled) return scheduled;
      // The insert also refuses a training rollout once the job has ended (since `job` was read, on
      // another instance): read the job again so the next try sees the end.
      current = (await this.store.getJob(job.id)) ?? current;
      if (valOnly && isFinal(current.status)) throw noConfirmationAfterEnd(current);
    }
    throw new ConflictError(`rollout scheduling for job ${job.id} lost ${MAX_ATTEMPTS} races with other instances in a row; retry`);
  }

  private async tryOnce(job: JobRecord, valOnly: boolean, correlationId: string | null): Promise<ScheduledRollout | null> {
    let rt = await this.engine.runtimeFor(job);
    if (newerThanCache(job, rt.job)) {
      // Ended, paused, resumed, promoted again (a rollback) or reverted by the guard on another
      // instance, this cache not yet told: the dispatcher reads the status and what an ended job
      // serves from the runtime (or a paused job's best known candidate), so a monitoring rollout,
      // or a paused job's, would otherwise go to the bandit's pick or the candidate served before.
      // jobChanged makes the next read fetch the candidates when a promoted one is not cached yet.
      this.engine.jobChanged(job);
      // Also a champion crowned at the end (no promote) that this cache has not read yet.
      const served = servedCandidateId(job);
      if (served !== null && !rt.candidates.some((c) => c.id === served)) rt.fetchedAt = Number.NEGATIVE_INFINITY;
      rt = await this.engine.runtimeFor(job);
    }
    // Deleted since the route read it (the refresh found no job row): unknown, as the next request says.
    if (rt.deleted) throw new JobGoneError(`job ${job.id} not found`);
    const mipro = rt.job.config.mipro;
    const [issued, valSeeds] = await Promise.all([this.store.rolloutSplitCounts(job.id), this.store.valSeedsIssued(job.id)]);
    // Which bootstrap seeds are taken matters only while some may be left.
    const bootstrapIssued = issued.bootstrap < new Set(mipro.bootstrap_train_seeds).size ? await this.store.bootstrapSeedsIssued(job.id) : mipro.bootstrap_train_seeds;
    // A candidate flagged for losing rewards cannot be champion, so it is not confirmed either.
    const excluded = flaggedIds(missingVerdicts(rt.candidates, rt.missing));
    const targets = confirmationTargets(rt.views(), mipro.online_rollouts_per_candidate, { excluded });
    // mipro.stop_when_identified needs its champion confirmed on val, the baseline included.
    if (targets.length === 0 && controlAwaitsConfirmation(rt, BASELINE_ID)) targets.push(BASELINE_ID);
    const state = {
      bootstrapSeeds: mipro.bootstrap_train_seeds,
      onlinePool: mipro.online_pool,
      valSeeds: mipro.val_seeds,
      issued,
      bootstrapIssued,
      controlId: BASELINE_ID,
      confirm: targets.map((candidateId) => ({ candidateId, seedsIssued: valSeeds.get(candidateId) ?? [] })),
    };
    // A seed assignment, or after the end a monitoring one (which no seed rule makes).
    let assignment: Omit<SeedAssignment, 'split'> & { split: Split };
    if (isFinal(rt.job.status)) {
      // After the end the job keeps serving (docs/API.md, "After a job ends"): an app's scheduler loop
      // goes on, each rollout served what the job serves and recorded as monitoring traffic, on the
      // online pool's seeds in turn (seed-evals?split=monitor lists them).
      assignment = { seed: mipro.online_pool[issued.monitor % mipro.online_pool.length]!, split: 'monitor' };
    } else if (valOnly) {
      const work = nextValWork(state);
      if (!work) throw new ConflictError('no confirmation work left: the champion, the control and the runner-up have run every val seed (or no champion other than the control exists yet)');
      assignment = { seed: work.seed, split: 'val', assignCandidateId: work.candidateId };
    } else {
      // Paused (SPEC.md): every new rollout is served the best known candidate, so no bootstrap or
      // confirmation rollout is assigned to another; an explicit valOnly request still is.
      // `job` was just read for this request; the cache (rt) may be a second behind a pause on another instance.
      assignment = job.status === 'paused' || rt.job.status === 'paused' ? nextOnlineSeed(state) : nextSeed(state);
    }
    // SPEC's mipro.rollout.started, for rollouts this scheduler hands out (not on the proxy's hot path),
    // committed with the rollout.
    const started = (rolloutId: string, candidateId: string): NewEvent => ({
      eventType: 'mipro.rollout.started',
      message: `rollout ${rolloutId}: ${assignment.split} seed ${assignment.seed} on ${candidateId}`,
      data: { rollout_id: rolloutId, seed: assignment.seed, split: assignment.split, candidate_id: candidateId },
    });
    const scheduled = await this.engine.schedule(rt, {
      seed: assignment.seed, split: assignment.split, correlationId, ...(assignment.assignCandidateId ? { assignCandidateId: assignment.assignCandidateId } : {}),
    }, started);
    return scheduled ? { ...scheduled, seed: assignment.seed, split: assignment.split } : null;
  }
}
