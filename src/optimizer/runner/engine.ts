import type { Clock } from '../../shared/clock.js';
import type { Rng } from '../../shared/rng.js';
import type { Logger } from '../../shared/logger.js';
import { type JobRecord, type NewEvent, type RewardOutcome, type RolloutCall, type Store } from '../../store/types.js';
import { pickChampion } from '../core/champion.js';
import { proposalDecisionOf } from './proposalGate.js';
import { candidatesToRetire, retirementInterval } from '../core/retirement.js';
import { compileModules } from '../core/modules.js';
import { intervalFromUnit } from '../core/rewardRange.js';
import { checkGuard } from './guardWatch.js';
import { stopReason } from './stopCheck.js';
import { JobRuntime } from './jobRuntime.js';
import { type Dispatch, Dispatcher, type DispatchRequest } from './dispatcher.js';
import { flaggedIds, missingVerdicts, refreshMissing } from './missingRewards.js';
import { ModuleRouter } from './moduleRouter.js';
import { PerCallRollouts } from './perCallRollouts.js';
import { demoMinReward } from '../../schemas/jobConfig.js';
import { DEFAULT_JOB_CACHE_MAX_ROLLOUTS, type RolloutTally } from './rolloutTally.js';

const MAX_RUNTIMES = 2000;
/** How often a lookup may look for idle runtimes to drop (a scan of the cache). */
const IDLE_SWEEP_INTERVAL_MS = 60_000;
/**
 * Past the rollout budget, jobs are dropped until the total is this share of it: one pass (a sort of
 * the cached jobs) then frees room for a tenth of the budget, instead of one pass per new rollout.
 */
const ROLLOUT_BUDGET_LOW_WATER = 0.9;
/**
 * A pass that could not get under the budget (what is left is the job being served, or busy jobs,
 * which a moment later may not be) is tried again after this long, not on every call meanwhile.
 */
const ROLLOUT_BUDGET_RETRY_MS = 100;

export interface EngineOptions {
  /** How long cached job state may be used before it is re-read (other instances write too). */
  cacheTtlMs: number;
  /** A dispatched rollout with no reward after this long stops counting as in flight. */
  inFlightTtlMs: number;
  /**
   * A job's cached state no call or reward used for this long is dropped (rebuilt from the database
   * when used again); default inFlightTtlMs, after which its per-instance state has expired anyway.
   */
  idleTtlMs?: number;
  /** Jobs cached at most (default MAX_RUNTIMES); past it the least recently used are dropped. */
  maxRuntimes?: number;
  /**
   * Rollouts all cached jobs remember together, at most (JOB_CACHE_MAX_ROLLOUTS; default
   * DEFAULT_JOB_CACHE_MAX_ROLLOUTS); past it the least recently used jobs are dropped.
   */
  maxCachedRollouts?: number;
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

/** The reward's effect on the cache: the database's moments when it returned them, else Welford here. */
function applyOutcome(rt: JobRuntime, outcome: RewardOutcome): void {
  const { candidateId, reward, split, seed } = outcome.reward;
  if (!outcome.moments) return rt.applyReward(candidateId, reward, split, seed);
  rt.applyMoments(candidateId, outcome.moments);
  rt.addToLedger(candidateId, reward, split, seed);
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
  /** Programs whose calls come without a rollout id, each a rollout of its own (reported once). */
  readonly perCallRollouts: PerCallRollouts;

  private readonly dispatcher: Dispatcher;
  /** The refresh a stale cache started, which later callers join (refreshIfStale). */
  private readonly staleRefreshes = new WeakMap<JobRuntime, Promise<void>>();
  private lastIdleSweep = Number.NEGATIVE_INFINITY;
  /** Rollouts the cached runtimes remember, kept by the runtimes themselves (rolloutTally.ts). */
  private readonly tally: RolloutTally = { count: 0 };
  private readonly maxCachedRollouts: number;
  /** When the last budget pass could not get under the budget: no other pass before ROLLOUT_BUDGET_RETRY_MS after it. */
  private budgetPassFailedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: EngineDeps, private readonly opts: EngineOptions) {
    this.modules = new ModuleRouter(deps);
    this.perCallRollouts = new PerCallRollouts(deps);
    this.dispatcher = new Dispatcher(deps, opts, (rt) => this.refresh(rt));
    this.maxCachedRollouts = opts.maxCachedRollouts ?? DEFAULT_JOB_CACHE_MAX_ROLLOUTS;
  }

  /**
   * runtimeForSystem's answer when this instance holds the job fresh (no refresh due), without a
   * promise; undefined otherwise (then ask runtimeForSystem). The proxy's hot path: the lookup's three
   * nested async steps cost promises and microtask turns on every call for an answer already in memory.
   */
  freshRuntimeForSystem(systemId: string): JobRuntime | undefined {
    const rt = this.cachedRuntime(systemId);
    if (!rt || rt.job.systemId !== systemId) return undefined;
    const now = this.deps.clock.now();
    if (!this.isFresh(rt, now)) return undefined;
    this.used(rt, now);
    return rt;
  }

  /** How many jobs this instance holds in memory (the miprox_cached_jobs gauge). */
  get cachedJobCount(): number {
    return this.runtimes.size;
  }

  /** How many rollouts the cached jobs remember, in flight included (the miprox_cached_rollouts gauge). */
  get cachedRolloutCount(): number {
    return this.tally.count;
  }

  /**
   * The runtime of a proxy's system id, finished or not (a finished job keeps serving); null when
   * unknown, or when the job is not `tenantId`'s (PROXY_REQUIRE_KEY).
   */
  async runtimeForSystem(systemId: string, tenantId?: string): Promise<JobRuntime | null> {
    // Only the system id is a proxy credential: lookup() also takes the job id, which is no secret.
    // A finished job is served too (its champion or baseline).
    return this.lookup(systemId, (job) => job.systemId === systemId && (tenantId === undefined || job.tenantId === tenantId));
  }

  /**
   * The runtime of a system id (or job id), finished or not, from the cache when fresh: the hot
   * reward path reads the job from here instead of the database. Null when unknown, or when `admits`
   * refuses the job (another tenant's, a job id where only a system id is a credential): checked on
   * the job's row before its runtime is built, so a stranger's request neither loads the job into
   * memory nor keeps it there (miprox_cached_jobs, on the keyless /metrics, and the time a first
   * load takes both told whether an id it guessed exists), and a refused cached job costs the read
   * an unknown id costs (answered from memory, it told by its speed that the job was in use).
   */
  async lookup(id: string, admits: (job: JobRecord) => boolean = () => true): Promise<JobRuntime | null> {
    this.sweepIdleEvery();
    const cached = this.cachedRuntime(id);
    if (cached) {
      if (admits(cached.job)) {
        this.used(cached, this.deps.clock.now());
        await this.refreshIfStale(cached);
        // The refresh found the job deleted (by any instance): unknown from now on.
        return cached.deleted ? null : cached;
      }
      // Refused as an unknown id is: after the same read, so a cached job answers no sooner.
      await this.readJob(id);
      return null;
    }
    const job = await this.readJob(id);
    if (!job || !admits(job)) return null;
    const rt = await this.runtimeFor(job);
    return rt.deleted ? null : rt;
  }

  private readJob(id: string): Promise<JobRecord | null> {
    return id.startsWith('pl_') ? this.deps.store.getJob(id) : this.deps.store.getJobBySystemId(id);
  }

  async runtimeFor(job: JobRecord): Promise<JobRuntime> {
    let rt = this.runtimes.get(job.id);
    const now = this.deps.clock.now();
    if (!rt) {
      rt = new JobRuntime(job, this.tally);
      rt.usedAt = now;
      this.evict(now);
      this.runtimes.set(job.id, rt);
      this.jobIdBySystem.set(job.systemId, job.id);
      this.used(rt, now);
      await this.refresh(rt);
    } else {
      this.used(rt, now);
      await this.refreshIfStale(rt);
    }
    return rt;
  }

  /**
   * A call, reward or scheduler request is about to use `rt`. Past the rollout budget, the least
   * recently used other jobs are dropped (shrinkToBudget). The common case is one comparison with
   * the running total: no scan of the jobs.
   */
  private used(rt: JobRuntime, now: number): void {
    rt.usedAt = now;
    if (this.tally.count > this.maxCachedRollouts && now - this.budgetPassFailedAt >= ROLLOUT_BUDGET_RETRY_MS) this.shrinkToBudget(rt, now);
  }

  /**
   * The job was deleted (on this instance: at once; another instance's delete is seen by the next
   * refresh, within cacheTtlMs): its runtime is dropped, busy or not (an ended job runs no proposal,
   * and its rows are going), and a request still holding it sees `deleted`.
   */
  jobDeleted(jobId: string): void {
    const rt = this.runtimes.get(jobId);
    if (!rt) return;
    rt.deleted = true;
    this.forget(jobId, rt);
  }

  /**
   * A request of the system's job met JobGoneError (its job was deleted on another instance, which
   * this cache had not seen yet): dropped as jobDeleted does, so the next request on this instance
   * is a 404 at once instead of being answered from the cache until it expires.
   */
  systemDeleted(systemId: string): void {
    const jobId = this.jobIdBySystem.get(systemId);
    if (jobId !== undefined) this.jobDeleted(jobId);
  }

  /** Called by the job service after a state change made on this instance. */
  jobChanged(job: JobRecord): void {
    const rt = this.runtimes.get(job.id);
    if (!rt) return;
    rt.job = job;
    // A promoted candidate this cache has not read yet (created by another instance): the next call
    // reads the candidates first, instead of serving the baseline until the cache expires.
    const served = job.servedCandidateId;
    if (served !== null && !rt.candidates.some((c) => c.id === served)) rt.fetchedAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * Keeps memory bounded on a long-running server. A job nobody called for idleTtlMs is dropped: each
   * cached job holds up to 20,000 remembered rollouts, and ended jobs used to stay until 2,000 newer
   * jobs pushed them out, so a server holding weeks of finished jobs grew by gigabytes. Past
   * MAX_RUNTIMES, the least recently used go too; so they do past the rollout budget
   * (shrinkToBudget). A dropped job is rebuilt from the database if used again (runtimeFor: a new
   * runtime and refresh, as on its first use; a finished one keeps serving its candidate); a busy one
   * (JobRuntime.busy: a proposal running, a rollout insert not yet committed) is kept.
   */
  private evict(now: number): void {
    this.lastIdleSweep = now;
    const idleBefore = now - (this.opts.idleTtlMs ?? this.opts.inFlightTtlMs);
    for (const [id, rt] of this.runtimes) if (rt.usedAt < idleBefore) this.drop(id, rt);
    const max = this.opts.maxRuntimes ?? MAX_RUNTIMES;
    if (this.runtimes.size < max) return;
    this.dropLeastRecentlyUsed(() => this.runtimes.size < max);
  }

  /**
   * Past the rollout budget (maxCachedRollouts) the least recently used jobs are dropped, the job
   * being served (`current`) never, until the total is back under ROLLOUT_BUDGET_LOW_WATER of the
   * budget. 2,000 jobs each remembering 20,000 rollouts were gigabytes; busy jobs stay cached for
   * their idle TTL, so nothing else bounded the sum. Called on a use past the budget only: one sort
   * of the cached jobs per tenth of the budget, not per call; when what is left over the budget
   * cannot go (the job being served, busy jobs), again at most every ROLLOUT_BUDGET_RETRY_MS.
   */
  private shrinkToBudget(current: JobRuntime, now: number): void {
    const max = this.maxCachedRollouts;
    const target = Math.floor(max * ROLLOUT_BUDGET_LOW_WATER);
    const before = { jobs: this.runtimes.size, rollouts: this.tally.count };
    this.dropLeastRecentlyUsed(() => this.tally.count <= target, (rt) => rt === current || rt.rolloutsHeld === 0);
    this.budgetPassFailedAt = this.tally.count > max ? now : Number.NEGATIVE_INFINITY;
    const droppedJobs = before.jobs - this.runtimes.size;
    const fields = { droppedJobs, rolloutsBefore: before.rollouts, rolloutsAfter: this.tally.count, maxCachedRollouts: max };
    const msg = 'job cache over JOB_CACHE_MAX_ROLLOUTS: least recently used jobs dropped (read again from the database when used)';
    // A pass that found nothing to drop may come again every ROLLOUT_BUDGET_RETRY_MS: not at info.
    if (droppedJobs > 0) this.deps.log.info(fields, msg);
    else this.deps.log.debug(fields, msg);
  }

  /** Drops cached jobs, least recently used first and none that `keep` spares, until `enough` holds. */
  private dropLeastRecentlyUsed(enough: () => boolean, keep: (rt: JobRuntime) => boolean = () => false): void {
    const byUse = [...this.runtimes].sort(([, a], [, b]) => a.usedAt - b.usedAt);
    for (const [id, rt] of byUse) {
      if (enough()) break;
      if (!keep(rt)) this.drop(id, rt);
    }
  }

  private drop(id: string, rt: JobRuntime): void {
    if (rt.busy) return;
    this.forget(id, rt);
  }

  private forget(id: string, rt: JobRuntime): void {
    if (this.runtimes.get(id) !== rt) return;
    this.runtimes.delete(id);
    if (this.jobIdBySystem.get(rt.job.systemId) === id) this.jobIdBySystem.delete(rt.job.systemId);
    rt.detach();
  }

  /** Idle jobs are also looked for as calls come, not only when a new job is cached. */
  private sweepIdleEvery(): void {
    const now = this.deps.clock.now();
    if (now - this.lastIdleSweep >= IDLE_SWEEP_INTERVAL_MS) this.evict(now);
  }

  /**
   * One refresh per expiry, however many calls find the cache stale: every request that arrived
   * while the first refresh was in flight used to start its own (three reads each), so a busy
   * instance on PostgreSQL ran a dozen at every expiry, about as many statements as its hot-path
   * batches (issue 18). The others wait for that refresh, which reads the state they would have.
   */
  /** The runtime this instance holds for a system id (or job id), fresh or not. */
  private cachedRuntime(id: string): JobRuntime | undefined {
    const jobId = id.startsWith('pl_') ? id : this.jobIdBySystem.get(id);
    return jobId ? this.runtimes.get(jobId) : undefined;
  }

  private isFresh(rt: JobRuntime, now = this.deps.clock.now()): boolean {
    return now - rt.fetchedAt <= this.opts.cacheTtlMs;
  }

  private async refreshIfStale(rt: JobRuntime): Promise<void> {
    if (this.isFresh(rt)) return;
    let pending = this.staleRefreshes.get(rt);
    if (!pending) {
      pending = this.refresh(rt).finally(() => this.staleRefreshes.delete(rt));
      this.staleRefreshes.set(rt, pending);
    }
    await pending;
  }

  async refresh(rt: JobRuntime): Promise<void> {
    const { store } = this.deps;
    const [job, candidates, modules] = await Promise.all([store.getJob(rt.job.id), store.listCandidates(rt.job.id), store.listModules(rt.job.id)]);
    if (!job) {
      // Deleted (getJob finds no deleted job): how every instance learns of another's delete.
      this.jobDeleted(rt.job.id);
      rt.deleted = true;
      return;
    }
    rt.job = job;
    rt.replaceCandidates(candidates);
    // Seed-level statistics: rebuilt from the stored rewards only when the cache lost track (first
    // load, rewards recorded by another instance); otherwise applyReward keeps them current for free.
    if (rt.staleLedgers()) rt.loadLedgers(await store.onlineSeedCells(rt.job.id));
    if (rt.staleLedgers('monitor')) rt.loadLedgers(await store.monitorSeedCells(rt.job.id), 'monitor');
    // Templates are parsed once per module, not on every refresh.
    if (modules.length !== rt.modules.length || modules.some((m, i) => m.template !== rt.modules[i]?.template)) rt.modules = compileModules(modules);
    rt.fetchedAt = this.deps.clock.now();
  }

  /** A 422 when dispatch would refuse the call's val seed (dispatcher.ts), before anything is done for it; null when the call holds none. */
  refuseHeldOut(rt: JobRuntime, req: DispatchRequest): Promise<void> | null {
    return this.dispatcher.refuseHeldOut(rt, req);
  }

  /** The candidate that serves a call of a rollout (dispatcher.ts). */
  dispatch(rt: JobRuntime, req: DispatchRequest): Promise<Dispatch> {
    return this.dispatcher.dispatch(rt, req);
  }

  /** The seed scheduler's rollout (dispatcher.ts); null when another instance took the slot first. */
  schedule(rt: JobRuntime, req: DispatchRequest, started: (rolloutId: string, candidateId: string) => NewEvent): Promise<{ rolloutId: string; candidateId: string } | null> {
    return this.dispatcher.schedule(rt, req, started);
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
    // A demo may have qualified: a demos_only skip is decided again (demoSkip.ts).
    if (outcome.reward.reward >= demoMinReward(mipro)) rt.demoSourceRewards += 1;
    if (mipro.max_rollouts !== undefined && rt.job.rewardCount >= mipro.max_rollouts) {
      await this.deps.finishJob(rt.job, `max_rollouts (${mipro.max_rollouts}) reached`);
      return;
    }
    await this.retireLosers(rt);
    await refreshMissing(rt, this.deps.store, this.deps.clock.now(), this.opts.inFlightTtlMs);
    await this.updateChampion(rt);
    const identified = await stopReason(rt, {
      valSeedsIssued: () => this.deps.store.valSeedsIssued(rt.job.id),
      poolUnsettled: async (cached) => {
        const [[latest], stored] = await Promise.all([this.deps.store.listProposals(rt.job.id, 1), this.deps.store.listCandidates(rt.job.id)]);
        // The lease is on the database's clock (Store.leaseClockNow): this instance's may be off.
        return (latest?.status === 'running' && Date.parse(latest.leaseUntil) > await this.deps.store.leaseClockNow()) || stored.length !== cached;
      },
    });
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
    let champion = this.championOf(rt);
    if (!champion || champion === rt.job.bestCandidateId) return;
    // A change is decided again on statistics just read. The cache holds the rewarded candidate fresh
    // and the others up to cacheTtlMs old: two instances whose stale views disagreed undid each other's
    // champion on every reward (177 mipro.best.changed events in 1,800 rewards through three instances,
    // flipping several times a second). Only a change pays for the read; concurrent ones share it.
    rt.fetchedAt = Number.NEGATIVE_INFINITY;
    await this.refreshIfStale(rt);
    champion = this.championOf(rt);
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

  /** The champion on the cached statistics (champion.ts). */
  private championOf(rt: JobRuntime): string | null {
    const R = rt.job.config.mipro.online_rollouts_per_candidate;
    // A candidate losing significantly more rewards than the control has a biased mean: not champion.
    return pickChampion(rt.views(), R, { excluded: flaggedIds(missingVerdicts(rt.candidates, rt.missing)) });
  }

  maybePropose(rt: JobRuntime): void {
    if (!proposalDecisionOf(rt, rt.proposalRunning).propose) return;
    rt.proposalRunning = true;
    void this.deps.propose(rt).finally(() => {
      rt.proposalRunning = false;
    });
  }
}
