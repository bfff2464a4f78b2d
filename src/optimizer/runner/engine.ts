import type { Clock } from '../../shared/clock.js';
import type { Rng } from '../../shared/rng.js';
import type { Logger } from '../../shared/logger.js';
import { BASELINE_ID, newRolloutId } from '../../shared/ids.js';
import { ValidationError } from '../../shared/errors.js';
import { FINAL_STATUSES, type CandidateRecord, type JobRecord, type NewEvent, type RewardOutcome, type RolloutCall, type Split, type Store } from '../../store/types.js';
import { pickChampion } from '../core/champion.js';
import { proposalDecision } from '../core/proposalTrigger.js';
import { exhaustedCap } from '../core/spend.js';
import { proposerCaps } from './proposerSpend.js';
import { candidatesToRetire, retirementInterval } from '../core/retirement.js';
import { compileModules } from '../core/modules.js';
import { intervalFromUnit } from '../core/rewardRange.js';
import { returnStintSlot, selectCandidate, type Stint } from '../core/selection.js';
import { checkGuard, servedCandidateId } from './guardWatch.js';
import { stopPairFor, stopReason } from './stopCheck.js';
import { JobRuntime, type KnownRollout } from './jobRuntime.js';
import { flaggedIds, missingVerdicts, refreshMissing } from './missingRewards.js';
import { ModuleRouter } from './moduleRouter.js';

const MAX_RUNTIMES = 2000;

export interface EngineOptions {
  /** How long cached job state may be used before it is re-read (other instances write too). */
  cacheTtlMs: number;
  /** A dispatched rollout with no reward after this long stops counting as in flight. */
  inFlightTtlMs: number;
}

export interface EngineDeps {
  store: Store;
  clock: Clock;
  rng: Rng;
  log: Logger;
  /** Ends a job (max_rollouts reached, champion identified); provided by the job service, which owns the state machine. */
  finishJob(job: JobRecord, reason: string): Promise<void>;
  /** Starts a proposal in the background; resolves when it is done (tracked for shutdown). */
  propose(rt: JobRuntime): Promise<void>;
}

export interface DispatchRequest {
  rolloutId?: string | null;
  seed?: number | null;
  split?: Split;
  correlationId?: string | null;
  /** The client's messages (without system messages): what the proposer will see. */
  inputMessages?: unknown[] | null;
  /** The scheduler, not the bandit, decides (bootstrap and val rollouts). */
  assignCandidateId?: string;
}

export interface Dispatch {
  rolloutId: string;
  candidate: CandidateRecord;
  /** The rollout record's write, run in parallel with the upstream call. */
  persisted: Promise<void>;
}

/** The reward's effect on the cache: the database's moments when it returned them, else Welford here. */
function applyOutcome(rt: JobRuntime, outcome: RewardOutcome): void {
  const { candidateId, reward, split, seed } = outcome.reward;
  if (!outcome.moments) return rt.applyReward(candidateId, reward, split, seed);
  rt.applyMoments(candidateId, outcome.moments);
  rt.addToLedger(candidateId, reward, split, seed);
}

function heldOutSeed(seed: number): ValidationError {
  return new ValidationError(`seed ${seed} is a val seed`, [{
    path: 'seed',
    message: `${seed} is one of the job's val_seeds, which are held out to confirm the champion: run it only through a rollout the scheduler issued (POST .../rollouts), or use a seed from online_pool`,
  }]);
}

/**
 * The online loop's in-process driver: routes each rollout to a candidate (pure core selection over a
 * short-lived cache), and after each reward reviews the job — budget, retirement, champion, proposal
 * trigger. Every decision is also written to the database, which stays the source of truth shared by
 * all instances.
 */
export class OnlineEngine {
  private readonly runtimes = new Map<string, JobRuntime>();
  private readonly jobIdBySystem = new Map<string, string>();
  /** Which module of the program each call belongs to. */
  readonly modules: ModuleRouter;

  constructor(private readonly deps: EngineDeps, private readonly opts: EngineOptions) {
    this.modules = new ModuleRouter(deps);
  }

  /** The runtime of a proxy's system id, finished or not (a finished job keeps serving); null when unknown. */
  async runtimeForSystem(systemId: string): Promise<JobRuntime | null> {
    // Only the system id is a proxy credential: lookup() also takes the job id, which is no secret.
    // A finished job is served too (its champion or baseline).
    const rt = await this.lookup(systemId);
    return rt && rt.job.systemId === systemId ? rt : null;
  }

  /**
   * The runtime of a system id (or job id), finished or not, from the cache when fresh: the hot
   * reward path reads the job from here instead of the database. Null when unknown.
   */
  async lookup(id: string): Promise<JobRuntime | null> {
    const jobId = id.startsWith('pl_') ? id : this.jobIdBySystem.get(id);
    const cached = jobId ? this.runtimes.get(jobId) : undefined;
    if (cached) {
      await this.refreshIfStale(cached);
      return cached;
    }
    const job = id.startsWith('pl_') ? await this.deps.store.getJob(id) : await this.deps.store.getJobBySystemId(id);
    return job ? this.runtimeFor(job) : null;
  }

  async runtimeFor(job: JobRecord): Promise<JobRuntime> {
    let rt = this.runtimes.get(job.id);
    if (!rt) {
      rt = new JobRuntime(job);
      this.runtimes.set(job.id, rt);
      this.jobIdBySystem.set(job.systemId, job.id);
      this.evictIdle();
      await this.refresh(rt);
    } else {
      await this.refreshIfStale(rt);
    }
    return rt;
  }

  /** Called by the job service after a state change made on this instance. */
  jobChanged(job: JobRecord): void {
    const rt = this.runtimes.get(job.id);
    if (rt) rt.job = job;
  }

  /**
   * Keeps memory bounded on a long-running server: past MAX_RUNTIMES, the least recently created
   * runtimes are dropped (they are rebuilt from the database if used again). Finished jobs stay like
   * any other: they keep serving their candidate.
   */
  private evictIdle(): void {
    for (const [id, rt] of this.runtimes) {
      if (this.runtimes.size <= MAX_RUNTIMES) break;
      if (rt.proposalRunning) continue;
      this.runtimes.delete(id);
      this.jobIdBySystem.delete(rt.job.systemId);
      if (this.runtimes.size <= MAX_RUNTIMES) break;
    }
  }

  private async refreshIfStale(rt: JobRuntime): Promise<void> {
    if (this.deps.clock.now() - rt.fetchedAt > this.opts.cacheTtlMs) await this.refresh(rt);
  }

  async refresh(rt: JobRuntime): Promise<void> {
    const { store } = this.deps;
    const [job, candidates, modules] = await Promise.all([store.getJob(rt.job.id), store.listCandidates(rt.job.id), store.listModules(rt.job.id)]);
    if (job) rt.job = job;
    rt.replaceCandidates(candidates);
    // Seed-level statistics: rebuilt from the stored rewards only when the cache lost track (first
    // load, rewards recorded by another instance); otherwise applyReward keeps them current for free.
    if (rt.staleLedgers()) rt.loadLedgers(await store.onlineSeedCells(rt.job.id));
    if (rt.staleLedgers('monitor')) rt.loadLedgers(await store.monitorSeedCells(rt.job.id), 'monitor');
    // Templates are parsed once per module, not on every refresh.
    if (modules.length !== rt.modules.length || modules.some((m, i) => m.template !== rt.modules[i]?.template)) rt.modules = compileModules(modules);
    rt.fetchedAt = this.deps.clock.now();
  }

  async dispatch(rt: JobRuntime, req: DispatchRequest): Promise<Dispatch> {
    if (req.rolloutId && this.deps.store.rolloutIdsByClaim && !this.heldOut(rt, req)) return this.dispatchClaimed(rt, req.rolloutId, req);
    if (req.rolloutId) {
      const known = await this.knownCandidate(rt, req.rolloutId);
      if (known) return { rolloutId: req.rolloutId, candidate: known, persisted: Promise.resolve() };
      // Checked again with no await before the reservation below: lookups of concurrent calls of one
      // rollout can settle in the same tick (PostgreSQL batches them), and the first to get here
      // reserves it for all.
      const raced = rt.sticky.get(req.rolloutId);
      const candidate = raced ? rt.candidates.find((c) => c.id === raced.candidateId) : undefined;
      if (candidate) return { rolloutId: req.rolloutId, candidate, persisted: Promise.resolve() };
    }
    if (FINAL_STATUSES.includes(rt.job.status)) {
      // After the end: no exploration; every new rollout gets what the job serves, as monitoring traffic.
      const served = this.servedCandidate(rt);
      const rolloutId = req.rolloutId ?? newRolloutId();
      return { rolloutId, candidate: served, persisted: this.reserve(rt, rolloutId, served.id, { ...req, split: 'monitor' }) };
    }
    // Val seeds are held out: only the scheduler issues them (as known rollouts, handled above).
    // A val seed on a new rollout would enter the bandit's statistics and the proposer's examples.
    if (this.heldOut(rt, req)) throw heldOutSeed(req.seed!);
    const rolloutId = req.rolloutId ?? newRolloutId();
    const candidate = this.choose(rt, req.assignCandidateId);
    return { rolloutId, candidate, persisted: this.reserve(rt, rolloutId, candidate.id, req) };
  }

  /** A val seed on a rollout the scheduler did not assign, while the job runs: only a known rollout may carry it. */
  private heldOut(rt: JobRuntime, req: DispatchRequest): boolean {
    return req.seed !== undefined && req.seed !== null && !req.assignCandidateId && !FINAL_STATUSES.includes(rt.job.status) && rt.isValSeed(req.seed);
  }

  /**
   * A client's rollout id, insert-first (stores where a read costs a statement, Store.rolloutIdsByClaim):
   * what this instance remembers, else a claim, which inserts the rollout with the candidate a new
   * rollout would get and, when the id turns out to be known (an earlier call on another instance, a
   * scheduled rollout, a restart), answers the stored candidate instead. That choice is then taken
   * back (stint, dispatch count, in-flight), so a known id does not advance the bandit. The insert
   * commits before the upstream call: the candidate depends on it.
   */
  private async dispatchClaimed(rt: JobRuntime, rolloutId: string, req: DispatchRequest): Promise<Dispatch> {
    const remembered = rt.sticky.get(rolloutId);
    const pending = remembered ? undefined : rt.claims.get(rolloutId);
    const known = remembered ?? (pending ? await pending : undefined);
    if (known) return { rolloutId, candidate: await this.candidateOf(rt, known.candidateId), persisted: Promise.resolve() };
    // No await between the lookups above and registering the claim: a concurrent call of this id
    // on this instance finds the claim and follows it.
    const claim = this.claim(rt, rolloutId, req);
    const shared = claim.then((c) => c.known);
    shared.catch(() => {}); // its waiters see the error; nobody else must
    rt.claims.set(rolloutId, shared);
    try {
      const { candidate } = await claim;
      return { rolloutId, candidate, persisted: Promise.resolve() };
    } finally {
      rt.claims.delete(rolloutId);
    }
  }

  private async claim(rt: JobRuntime, rolloutId: string, req: DispatchRequest): Promise<{ candidate: CandidateRecord; known: KnownRollout }> {
    const final = FINAL_STATUSES.includes(rt.job.status);
    // After the end every new rollout gets what the job serves, as monitoring traffic (as dispatch).
    const split = final ? 'monitor' : (req.split ?? 'online');
    const stintBefore = rt.stint;
    const candidate = final ? this.servedCandidate(rt) : this.choose(rt, req.assignCandidateId);
    const choice = { candidate: final ? null : candidate, stintBefore, stintAfter: rt.stint };
    // In flight at once, as a reserved rollout: concurrent choices must see it (the in-flight cap).
    const now = this.deps.clock.now();
    rt.expireInFlight(now, this.opts.inFlightTtlMs);
    rt.startInFlight(rolloutId, candidate.id, now);
    let stored: KnownRollout | null;
    try {
      stored = await this.deps.store.claimRollout({
        jobId: rt.job.id, id: rolloutId, candidateId: candidate.id, seed: req.seed ?? null, split,
        correlationId: req.correlationId ?? null, inputMessages: req.inputMessages ?? null,
      });
    } catch (err) {
      this.takeBack(rt, rolloutId, choice);
      throw err;
    }
    if (!stored) {
      const known = { candidateId: candidate.id, split, seed: req.seed ?? null };
      rt.remember(rolloutId, known);
      return { candidate, known };
    }
    this.takeBack(rt, rolloutId, choice);
    rt.remember(rolloutId, stored);
    return { candidate: await this.candidateOf(rt, stored.candidateId), known: stored };
  }

  /**
   * Undoes a choice whose rollout was not inserted: its in-flight slot, its dispatch and its stint
   * slot (the stint as it was when nothing was chosen since, else the slot returned to it).
   */
  private takeBack(rt: JobRuntime, rolloutId: string, choice: { candidate: CandidateRecord | null; stintBefore: Stint | null; stintAfter: Stint | null }): void {
    rt.endInFlight(rolloutId);
    const { candidate, stintBefore, stintAfter } = choice;
    if (!candidate) return;
    candidate.dispatches -= 1;
    if (stintBefore === stintAfter) return; // the choice did not touch the stint (assigned, nursery end)
    rt.stint = rt.stint === stintAfter ? stintBefore : returnStintSlot(rt.stint, candidate.id);
  }

  /**
   * The seed scheduler's dispatch: bootstrap and val rollouts are assigned, online ones go to the
   * bandit. The rollout, its counters and `started` event commit together before the answer; null
   * when another instance took the slot first (the bootstrap seed, the candidate's val seed).
   */
  async schedule(rt: JobRuntime, req: DispatchRequest, started: (rolloutId: string, candidateId: string) => NewEvent): Promise<{ rolloutId: string; candidateId: string } | null> {
    const rolloutId = newRolloutId();
    const candidate = this.pick(rt, req.assignCandidateId);
    const inserted = await this.deps.store.insertScheduledRollout({
      jobId: rt.job.id, id: rolloutId, candidateId: candidate.id, seed: req.seed ?? null, split: req.split ?? 'online',
      correlationId: req.correlationId ?? null, inputMessages: req.inputMessages ?? null,
    }, started(rolloutId, candidate.id));
    if (!inserted) return null;
    candidate.dispatches += 1;
    this.track(rt, rolloutId, candidate.id, req);
    return { rolloutId, candidateId: candidate.id };
  }

  /** Records a new rollout: in memory (sticky, in flight) at once, in the database in the background. */
  private reserve(rt: JobRuntime, rolloutId: string, candidateId: string, req: DispatchRequest): Promise<void> {
    this.track(rt, rolloutId, candidateId, req);
    return this.deps.store.insertRollout({
      jobId: rt.job.id, id: rolloutId, candidateId, seed: req.seed ?? null, split: req.split ?? 'online',
      correlationId: req.correlationId ?? null, inputMessages: req.inputMessages ?? null,
    }).then(async (inserted) => {
      if (inserted) return;
      // Another instance dispatched this id first: its record is the truth, so later calls of the
      // rollout and its reward follow that candidate (this one call was already routed).
      this.deps.log.warn({ rolloutId }, 'rollout id was dispatched concurrently elsewhere');
      const stored = await this.deps.store.getRollout(rt.job.id, rolloutId);
      if (stored) rt.remember(rolloutId, { candidateId: stored.candidateId, split: stored.split, seed: stored.seed });
    });
  }

  /** The candidate a rollout id already has: this instance's memory first, then the database. */
  private async knownCandidate(rt: JobRuntime, rolloutId: string): Promise<CandidateRecord | null> {
    let known = rt.sticky.get(rolloutId);
    if (!known) {
      const record = await this.deps.store.getRollout(rt.job.id, rolloutId);
      // While the read was in flight, a concurrent call of the same rollout on this instance may have
      // reserved it: follow that call rather than routing this one elsewhere.
      known = rt.sticky.get(rolloutId) ?? (record ? { candidateId: record.candidateId, split: record.split, seed: record.seed } : undefined);
      if (!known) return null;
      rt.remember(rolloutId, known);
    }
    return this.candidateOf(rt, known.candidateId);
  }

  private async candidateOf(rt: JobRuntime, id: string): Promise<CandidateRecord> {
    let c = rt.candidates.find((x) => x.id === id);
    if (!c) {
      await this.refresh(rt); // created by another instance since our last read
      c = rt.candidates.find((x) => x.id === id);
    }
    return c ?? this.baseline(rt);
  }

  /** A finished job's candidate: what was promoted or crowned at the end; the baseline if it was cancelled or failed. */
  private servedCandidate(rt: JobRuntime): CandidateRecord {
    const id = servedCandidateId(rt.job) ?? BASELINE_ID;
    return rt.candidates.find((c) => c.id === id) ?? this.baseline(rt);
  }

  private baseline(rt: JobRuntime): CandidateRecord {
    const b = rt.candidates.find((c) => c.id === BASELINE_ID) ?? rt.candidates[0];
    if (!b) throw new Error(`job ${rt.job.id} has no candidates`);
    return b;
  }

  /** The candidate for a new rollout (counted as dispatched in the cache, as the insert will). */
  private choose(rt: JobRuntime, assigned: string | undefined): CandidateRecord {
    const candidate = this.pick(rt, assigned);
    candidate.dispatches += 1;
    return candidate;
  }

  /** The assigned candidate, else the bandit's choice, else the baseline (nothing counted yet). */
  private pick(rt: JobRuntime, assigned: string | undefined): CandidateRecord {
    const chosen = assigned ? rt.candidates.find((c) => c.id === assigned) : this.select(rt);
    return chosen ?? this.baseline(rt);
  }

  /** A new rollout in memory: sticky to its candidate and in flight until its reward or the expiry. */
  private track(rt: JobRuntime, rolloutId: string, candidateId: string, req: DispatchRequest): void {
    const now = this.deps.clock.now();
    rt.expireInFlight(now, this.opts.inFlightTtlMs);
    rt.remember(rolloutId, { candidateId, split: req.split ?? 'online', seed: req.seed ?? null });
    rt.startInFlight(rolloutId, candidateId, now);
  }

  private select(rt: JobRuntime): CandidateRecord | undefined {
    const mipro = rt.job.config.mipro;
    const selection = selectCandidate(
      {
        candidates: rt.views(),
        stint: rt.stint,
        rolloutsPerCandidate: mipro.online_rollouts_per_candidate,
        // The pool is final once the cap is reached (retired candidates count, as for proposals):
        // selection then spends fresh stints on telling the leader from its challenger.
        identify: rt.candidates.length >= mipro.online_proposer_max_candidates,
        // mipro.stop_when_identified: measure what blocks the stop (LUCB on the rule's own bounds).
        stopPair: stopPairFor(rt),
      },
      this.deps.rng,
    );
    if (!selection) return undefined;
    rt.stint = selection.stint;
    return rt.candidates.find((c) => c.id === selection.candidateId);
  }

  /** Records one finished LLM call of a rollout (output text for the proposer, latency, usage). */
  recordCall(rt: JobRuntime, rolloutId: string, call: RolloutCall): Promise<void> {
    return this.deps.store.completeRolloutCall(rt.job.id, rolloutId, call);
  }

  /** After a committed reward: update the cache, then budget, retirement, champion, proposals. */
  async afterReward(rt: JobRuntime, outcome: RewardOutcome): Promise<void> {
    rt.job = outcome.job;
    rt.endInFlight(outcome.reward.rolloutId);
    if (outcome.duplicate) return;
    if (outcome.reward.split === 'monitor') return this.afterMonitorReward(rt, outcome);
    applyOutcome(rt, outcome);
    const mipro = rt.job.config.mipro;
    if (mipro.max_rollouts !== undefined && rt.job.rewardCount >= mipro.max_rollouts) {
      await this.deps.finishJob(rt.job, `max_rollouts (${mipro.max_rollouts}) reached`);
      return;
    }
    await this.retireLosers(rt);
    await refreshMissing(rt, this.deps.store, this.deps.clock.now(), this.opts.inFlightTtlMs);
    await this.updateChampion(rt);
    const identified = await stopReason(rt, () => this.deps.store.valSeedsIssued(rt.job.id));
    if (identified) return this.deps.finishJob(rt.job, identified);
    this.maybePropose(rt);
  }

  /** After the end: monitored rewards feed only the guard, which watches what the job serves. */
  private async afterMonitorReward(rt: JobRuntime, outcome: RewardOutcome): Promise<void> {
    applyOutcome(rt, outcome);
    const seedLevel = { online: (id: string) => rt.seedStatsOf(id), monitor: (id: string) => rt.monitorSeedStatsOf(id) };
    const tripped = await checkGuard(this.deps.store, rt.job, rt.candidates, outcome.reward.candidateId, seedLevel);
    if (tripped) rt.job = tripped;
  }

  private async retireLosers(rt: JobRuntime): Promise<void> {
    const R = rt.job.config.mipro.online_rollouts_per_candidate;
    const views = rt.views();
    const retiring = candidatesToRetire(views, { rolloutsPerCandidate: R });
    if (retiring.length === 0) return; // the common case on every reward: build nothing more
    const interval = retirementInterval(views);
    for (const id of retiring) {
      const c = rt.candidates.find((x) => x.id === id);
      const view = views.find((v) => v.id === id);
      if (!c || !view) continue;
      c.status = 'retired';
      const ci = intervalFromUnit(interval(view), rt.job.config.mipro.reward_range); // views are rescaled to [0, 1]
      await this.deps.store.retireCandidate(rt.job.id, id, {
        eventType: 'mipro.candidate.retired',
        message: `${id} retired: its upper bound ${ci[1].toFixed(3)} is below the leader's lower bound`,
        data: { candidate_id: id, n: c.online.n, mean: c.online.mean, ci },
      });
    }
  }

  private async updateChampion(rt: JobRuntime): Promise<void> {
    const R = rt.job.config.mipro.online_rollouts_per_candidate;
    // A candidate losing significantly more rewards than the control has a biased mean: not champion.
    const champion = pickChampion(rt.views(), R, { excluded: flaggedIds(missingVerdicts(rt.candidates, rt.missing)) });
    if (!champion || champion === rt.job.bestCandidateId) return;
    const previous = rt.job.bestCandidateId;
    rt.job = { ...rt.job, bestCandidateId: champion };
    const c = rt.candidates.find((x) => x.id === champion);
    await this.deps.store.setBestCandidate(rt.job.id, champion, {
      eventType: 'mipro.best.changed',
      message: `best candidate is now ${champion}`,
      data: { candidate_id: champion, previous, n: c?.online.n ?? 0, mean: c?.online.mean ?? null },
    });
  }

  maybePropose(rt: JobRuntime): void {
    const mipro = rt.job.config.mipro;
    const decision = proposalDecision({
      jobStatus: rt.job.status,
      rewardsSinceProposal: rt.job.rewardsSinceProposal,
      minRollouts: mipro.online_proposer_min_rollouts,
      candidateCount: rt.candidates.length,
      maxCandidates: mipro.online_proposer_max_candidates,
      proposalInFlight: rt.proposalRunning,
      rolloutCount: rt.job.rolloutCount,
      maxRollouts: mipro.max_rollouts ?? null,
      spendCapReached: exhaustedCap(rt.job.usage.proposer, proposerCaps(rt.job)),
    });
    if (!decision.propose) return;
    rt.proposalRunning = true;
    void this.deps.propose(rt).finally(() => {
      rt.proposalRunning = false;
    });
  }
}
