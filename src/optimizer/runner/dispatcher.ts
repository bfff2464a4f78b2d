import type { Clock } from '../../shared/clock.js';
import type { Rng } from '../../shared/rng.js';
import type { Logger } from '../../shared/logger.js';
import { BASELINE_ID, newRolloutId } from '../../shared/ids.js';
import { JobGoneError, ValidationError } from '../../shared/errors.js';
import { assignmentWithCorrelationOf, FINAL_STATUSES, type CandidateRecord, type NewEvent, type NewRollout, type Split, type Store } from '../../store/types.js';
import { returnStintSlot, selectCandidate, type Stint } from '../core/selection.js';
import { servedCandidateId } from './guardWatch.js';
import { stopPairFor } from './stopCheck.js';
import { poolIsFinal } from './proposerSpend.js';
import type { JobRuntime, KnownRollout } from './jobRuntime.js';
import { SpeculationBudget } from './speculationBudget.js';

export interface DispatchRequest {
  rolloutId?: string | null;
  seed?: number | null;
  split?: Split;
  correlationId?: string | null;
  /** The client's messages (without system messages): what the proposer will see. */
  inputMessages?: unknown[] | null;
  /** The scheduler, not the bandit, decides (bootstrap and val rollouts). */
  assignCandidateId?: string;
  /**
   * The caller sends nothing to its client before `Dispatch.confirmed` settles (a JSON answer), so
   * its upstream call may start before the rollout's claim commits (SpeculationBudget).
   */
  speculate?: boolean;
}

export interface Dispatch {
  rolloutId: string;
  candidate: CandidateRecord;
  /** The rollout record's write, run in parallel with the upstream call. */
  persisted: Promise<void>;
  /**
   * Only on a speculative dispatch: the rollout's claim is still in flight. True once it committed
   * with `candidate`; false when the id turned out to be stored with another candidate: then an
   * answer made with `candidate` must never be relayed, and the call is dispatched again (it then
   * gets the stored candidate); false too when the id is stored on another seed (the dispatch again
   * refuses the call). Rejects when the claim failed.
   */
  confirmed?: Promise<boolean>;
}

function heldOutSeed(seed: number, known?: KnownRollout): ValidationError {
  // A known rollout of another split: its calls are training (or monitoring) input, which the proposer and demos read.
  const on = known ? `; this rollout is a ${known.split} rollout, not one issued for confirmation` : '';
  return new ValidationError(`seed ${seed} is a val seed`, [{
    path: 'seed',
    message: `${seed} is one of the job's val_seeds, which are held out to confirm the champion: run it only through a val rollout the scheduler issued (POST .../rollouts), or use a seed from online_pool${on}`,
  }]);
}

/**
 * A later call of a known rollout runs on the rollout's seed: it may repeat it or leave it out, but
 * a call carrying another seed (or one on a rollout whose first call sent none) is a client's bug
 * whose seed would be silently dropped (the rollout's calls and reward count for the stored seed).
 */
function checkSameSeed(req: DispatchRequest, known: KnownRollout): KnownRollout {
  if (onRolloutSeed(req, known)) return known;
  const runs = known.seed === null ? 'runs without a seed (its reward or first call came without one)' : `runs on seed ${known.seed}`;
  throw new ValidationError(`seed ${req.seed} is not this rollout's seed`, [{
    path: 'seed',
    message: `this rollout ${runs}: its later calls may repeat that seed or leave it out, not ${req.seed}; a call on another seed belongs to a rollout of its own (another rollout id)`,
  }]);
}

/**
 * A later call's correlation id against the rollout's: it may repeat it or send none, and a rollout
 * that has none gets the first one sent (Dispatcher.correlate). Another one would be dropped silently,
 * and a reward naming it would miss this rollout, or find an older rollout of that id and credit its
 * candidate: a client's bug, refused as another seed is.
 */
function correlationConflict(req: DispatchRequest, rolloutCorrelation: string | null | undefined): ValidationError | null {
  const cid = req.correlationId;
  if (cid === undefined || cid === null || rolloutCorrelation === undefined || rolloutCorrelation === null || rolloutCorrelation === cid) return null;
  // The reason follows the field's name (`correlation_id: is ...` in a proxy error's one message): it
  // does not name the field again, it names the id the rollout stored.
  return new ValidationError('the rollout has another correlation id', [{
    path: 'correlation_id',
    message: `is ${JSON.stringify(cid)}, but this rollout's is ${JSON.stringify(rolloutCorrelation)}: its later calls may repeat that id or leave it out (a reward naming ${JSON.stringify(cid)} would not find this rollout); a call of another correlation belongs to a rollout of its own (another rollout id)`,
  }]);
}

/** Whether a call may run on a known rollout's seed: it repeats it or sends none (checkSameSeed). */
function onRolloutSeed(req: DispatchRequest, known: KnownRollout): boolean {
  return req.seed === undefined || req.seed === null || req.seed === known.seed;
}

/** The rollout record a request makes for its candidate (online unless the request says otherwise). */
function newRollout(rt: JobRuntime, rolloutId: string, candidateId: string, req: DispatchRequest): NewRollout {
  return {
    jobId: rt.job.id, id: rolloutId, candidateId, seed: req.seed ?? null, split: req.split ?? 'online',
    correlationId: req.correlationId ?? null, inputMessages: req.inputMessages ?? null,
  };
}

/**
 * Which candidate serves a rollout, and the rollout's record: a known rollout keeps its candidate
 * (this instance's memory, else the database), a new one gets the bandit's choice (pure core
 * selection over the job's cached state), a scheduled one its assigned candidate. After the job's
 * end new rollouts get what the job serves. The engine owns the cache; this only reads and updates it.
 */
export class Dispatcher {
  constructor(
    private readonly deps: { store: Store; clock: Clock; rng: Rng; log: Logger },
    private readonly opts: { inFlightTtlMs: number },
    /** Re-reads the job's cached state (a candidate created by another instance since the last read). */
    private readonly refresh: (rt: JobRuntime) => Promise<void>,
    private readonly speculation = new SpeculationBudget(),
  ) {}

  async dispatch(rt: JobRuntime, req: DispatchRequest): Promise<Dispatch> {
    const refusal = this.refuseHeldOut(rt, req);
    if (refusal) await refusal;
    if (req.rolloutId && this.deps.store.rolloutIdsByClaim && !this.heldOut(rt, req)) return this.dispatchClaimed(rt, req.rolloutId, req);
    if (req.rolloutId) {
      // Synchronously where the store reads so (nothing awaited before the reservation below), else
      // the lookup, then memory again with no await before the reservation: lookups of concurrent
      // calls of one rollout can settle in the same tick (PostgreSQL batches them), and the first to
      // get here reserves it for all.
      const now = this.knownNow(rt, req.rolloutId);
      const known = now !== undefined ? now : ((await this.knownRollout(rt, req.rolloutId)) ?? rt.sticky.get(req.rolloutId));
      if (known) {
        checkSameSeed(req, known);
        await this.correlate(rt, req.rolloutId, known, req);
        return { rolloutId: req.rolloutId, candidate: await this.candidateOf(rt, known.candidateId), persisted: Promise.resolve() };
      }
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

  /**
   * Refuses, as dispatch would, a val seed on a rollout the scheduler did not issue: for callers that
   * must not act on a call dispatch will refuse (the proxy routes a call, which may discover a module,
   * before it dispatches it).
   */
  refuseHeldOut(rt: JobRuntime, req: DispatchRequest): Promise<void> | null {
    // Null, not a resolved promise, when the call holds no val seed (every call but a few): nothing to await.
    if (!this.heldOut(rt, req)) return null;
    return this.refuseUnlessVal(rt, req);
  }

  private async refuseUnlessVal(rt: JobRuntime, req: DispatchRequest): Promise<void> {
    // Only a val rollout: a training rollout's calls (another seed's, or a proxy-made one's) feed the
    // proposer and the demo pool, so a val seed's input must not join them as a later call.
    const known = req.rolloutId ? await this.knownRollout(rt, req.rolloutId) : null;
    if (known?.split === 'val') return;
    throw heldOutSeed(req.seed!, known ?? undefined);
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
   * commits before the upstream call (the candidate depends on it), unless the caller can hold its
   * answer until the claim is known and the speculation budget allows: then the upstream call runs
   * beside the claim, as SQLite's insert does, and `confirmed` says whether its answer may be relayed.
   */
  private async dispatchClaimed(rt: JobRuntime, rolloutId: string, req: DispatchRequest): Promise<Dispatch> {
    const remembered = rt.sticky.get(rolloutId);
    const pending = remembered ? undefined : rt.claims.get(rolloutId);
    const known = remembered ?? (pending ? await pending : undefined);
    if (known) {
      checkSameSeed(req, known);
      await this.correlate(rt, rolloutId, known, req);
      return { rolloutId, candidate: await this.candidateOf(rt, known.candidateId), persisted: Promise.resolve() };
    }
    // No await between the lookups above and registering the claim: a concurrent call of this id
    // on this instance finds the claim and follows it.
    const { chosen, done } = this.claim(rt, rolloutId, req);
    const shared = done.then((c) => c.known);
    shared.catch(() => {}); // its waiters see the error; nobody else must
    rt.claims.set(rolloutId, shared);
    const settled = done.finally(() => rt.claims.delete(rolloutId));
    if (req.speculate && this.speculation.tryStart()) {
      const confirmed = settled.then(
        async ({ candidate, known }) => {
          // The id stored on another seed: the answer is dropped as for another candidate, and the
          // caller's dispatch again refuses the call (checkSameSeed on the id it now remembers), with
          // nothing recorded. Rejecting here instead failed the call as a failed claim would: its
          // call record's write logged the client's 422 as a failed background task, and an upstream
          // error that came first answered in place of the 422.
          const same = candidate.id === chosen.id;
          let confirmed = same && onRolloutSeed(req, known);
          // Another correlation id likewise (the dispatch again refuses it from what correlate
          // remembered); a stored rollout without one takes the call's before its answer is relayed.
          try {
            if (confirmed) confirmed = await this.correlated(rt, rolloutId, known, req);
          } catch (err) {
            this.speculation.end('wasted');
            throw err;
          }
          this.speculation.end(confirmed ? 'confirmed' : 'wasted');
          if (!same) this.deps.log.info({ rolloutId, speculated: chosen.id, stored: candidate.id }, 'speculative upstream call dropped: the rollout id was stored with another candidate');
          return confirmed;
        },
        (err: unknown) => {
          this.speculation.end('wasted');
          throw err;
        },
      );
      const persisted = confirmed.then(() => undefined);
      // The caller awaits both (a failed claim fails its call); neither may go unhandled meanwhile.
      confirmed.catch(() => {});
      persisted.catch(() => {});
      return { rolloutId, candidate: chosen, persisted, confirmed };
    }
    const { candidate, known: stored } = await settled;
    checkSameSeed(req, stored);
    await this.correlate(rt, rolloutId, stored, req);
    return { rolloutId, candidate, persisted: Promise.resolve() };
  }

  /**
   * The candidate a new rollout gets (chosen at once, before anything is awaited) and the claim of
   * the id with it: the stored candidate when the id existed.
   */
  private claim(rt: JobRuntime, rolloutId: string, req: DispatchRequest): { chosen: CandidateRecord; done: Promise<{ candidate: CandidateRecord; known: KnownRollout }> } {
    const final = FINAL_STATUSES.includes(rt.job.status);
    // After the end every new rollout gets what the job serves, as monitoring traffic (as dispatch).
    const split = final ? 'monitor' : (req.split ?? 'online');
    const stintBefore = rt.stint;
    const candidate = final ? this.servedCandidate(rt) : this.choose(rt, req.assignCandidateId);
    const choice = { candidate: final ? null : candidate, stintBefore, stintAfter: rt.stint };
    // In flight at once, as a reserved rollout: concurrent choices must see it (the in-flight cap).
    this.startInFlight(rt, rolloutId, candidate.id);
    const done = (async () => {
      let stored: KnownRollout | null;
      try {
        stored = await this.deps.store.claimRollout(newRollout(rt, rolloutId, candidate.id, { ...req, split }));
      } catch (err) {
        this.takeBack(rt, rolloutId, choice);
        throw err;
      }
      if (!stored) {
        this.speculation.earn();
        const known = { candidateId: candidate.id, split, seed: req.seed ?? null, correlationId: req.correlationId ?? null };
        rt.remember(rolloutId, known);
        return { candidate, known };
      }
      this.takeBack(rt, rolloutId, choice);
      rt.remember(rolloutId, stored);
      return { candidate: await this.candidateOf(rt, stored.candidateId), known: stored };
    })();
    return { chosen: candidate, done };
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
    // After the end (a monitor rollout): what the job serves, as the proxy gives a new rollout id.
    const candidate = FINAL_STATUSES.includes(rt.job.status) ? this.servedCandidate(rt) : this.pick(rt, req.assignCandidateId);
    const inserted = await this.deps.store.insertScheduledRollout(newRollout(rt, rolloutId, candidate.id, req), started(rolloutId, candidate.id));
    if (!inserted) return null;
    candidate.dispatches += 1;
    this.track(rt, rolloutId, candidate.id, req);
    return { rolloutId, candidateId: candidate.id };
  }

  /** Records a new rollout: in memory (sticky, in flight) at once, in the database in the background. */
  private reserve(rt: JobRuntime, rolloutId: string, candidateId: string, req: DispatchRequest): Promise<void> {
    this.track(rt, rolloutId, candidateId, req);
    const inserting = this.deps.store.insertRollout(newRollout(rt, rolloutId, candidateId, req));
    // Until the insert commits, this memory is the rollout's only record: the engine keeps the job cached.
    rt.pendingInserts += 1;
    rt.inserting.set(rolloutId, inserting);
    void inserting.then(() => rt.inserting.delete(rolloutId), () => rt.inserting.delete(rolloutId));
    return inserting.then(async (inserted) => {
      rt.pendingInserts -= 1;
      if (inserted) return;
      // Another instance dispatched this id first: its record is the truth, so later calls of the
      // rollout and its reward follow that candidate (this one call was already routed).
      this.deps.log.warn({ rolloutId }, 'rollout id was dispatched concurrently elsewhere');
      const stored = await this.deps.store.getRollout(rt.job.id, rolloutId);
      if (stored) rt.remember(rolloutId, assignmentWithCorrelationOf(stored));
    }, (err: unknown) => {
      rt.pendingInserts -= 1;
      throw err;
    });
  }

  /**
   * knownRollout's lookup without a promise where the store reads synchronously (getRolloutNow):
   * the rollout's assignment, null when the id is new, undefined when only the asynchronous lookup
   * can tell. Nothing is awaited between this read and the reservation that follows a miss, so no
   * concurrent call of the id can come in between (the re-check after knownRollout's read).
   */
  private knownNow(rt: JobRuntime, rolloutId: string): KnownRollout | null | undefined {
    const remembered = rt.sticky.get(rolloutId);
    if (remembered) return remembered;
    const read = this.deps.store.getRolloutNow;
    if (read === undefined) return undefined;
    const record = read(rt.job.id, rolloutId);
    if (!record) return null;
    const known = assignmentWithCorrelationOf(record);
    rt.remember(rolloutId, known);
    return known;
  }

  /** What a rollout id is already assigned: this instance's memory first, then the database. */
  private async knownRollout(rt: JobRuntime, rolloutId: string): Promise<KnownRollout | null> {
    let known = rt.sticky.get(rolloutId);
    if (!known) {
      const record = await this.deps.store.getRollout(rt.job.id, rolloutId);
      // While the read was in flight, a concurrent call of the same rollout on this instance may have
      // reserved it: follow that call rather than routing this one elsewhere.
      known = rt.sticky.get(rolloutId) ?? (record ? assignmentWithCorrelationOf(record) : undefined);
      if (!known) return null;
      rt.remember(rolloutId, known);
    }
    return known;
  }

  /**
   * A known rollout's later call carrying a correlation id: the rollout's own passes; another one is a
   * 422 (correlationConflict); a rollout with none (its first call sent none, or the scheduler issued
   * it without one) is tagged with it in the store, so a reward naming the id finds it. Where this
   * instance does not know the rollout's tag, the store's answer decides. Nothing costs a statement
   * once the tag is remembered.
   */
  private async correlate(rt: JobRuntime, rolloutId: string, known: KnownRollout, req: DispatchRequest): Promise<void> {
    const cid = req.correlationId;
    if (cid === undefined || cid === null || known.correlationId === cid) return;
    const conflict = correlationConflict(req, known.correlationId);
    if (conflict) throw conflict;
    // A rollout this instance is still inserting: its record first, or the tag would find no row.
    await rt.inserting.get(rolloutId)?.catch(() => undefined);
    const tagged = await this.deps.store.tagRolloutCorrelation(rt.job.id, rolloutId, cid);
    if (tagged === undefined) return; // not stored (its insert failed): nothing to tag
    rt.remember(rolloutId, { ...(rt.sticky.get(rolloutId) ?? known), correlationId: tagged });
    const stored = correlationConflict(req, tagged);
    if (stored) throw stored;
  }

  /** correlate, false where it would refuse the call for another correlation id (a speculative call's answer is then dropped). */
  private async correlated(rt: JobRuntime, rolloutId: string, known: KnownRollout, req: DispatchRequest): Promise<boolean> {
    try {
      await this.correlate(rt, rolloutId, known, req);
      return true;
    } catch (err) {
      if (err instanceof ValidationError) return false;
      throw err;
    }
  }

  private async candidateOf(rt: JobRuntime, id: string): Promise<CandidateRecord> {
    let c = rt.candidates.find((x) => x.id === id);
    if (!c) {
      await this.refresh(rt); // created by another instance since our last read
      // The re-read found the job deleted (by another instance, since the rollout was found): it
      // keeps the stale candidates, so the fallback below served another candidate than the
      // rollout's other calls got. A 404 as for any call of a deleted job.
      if (rt.deleted) throw new JobGoneError(`job ${rt.job.id} not found`);
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
    // A job holds its baseline from its creation until a DELETE removes its rows (api/views.ts
    // purgedMeanwhile): none read means the job was deleted since it was read, a 404 as for an
    // unknown job (it was a plain Error: a 500 and an error log for a call or a scheduled rollout).
    if (!b) throw new JobGoneError(`job ${rt.job.id} not found`);
    return b;
  }

  /** The candidate for a new rollout (counted as dispatched in the cache, as the insert will). */
  private choose(rt: JobRuntime, assigned: string | undefined): CandidateRecord {
    const candidate = this.pick(rt, assigned);
    candidate.dispatches += 1;
    return candidate;
  }

  /**
   * The assigned candidate, else the bandit's choice (a paused job's best known candidate: SPEC.md,
   * "paused: the proxy keeps serving the best known candidate"), else the baseline (nothing counted yet).
   */
  private pick(rt: JobRuntime, assigned: string | undefined): CandidateRecord {
    const chosen = assigned
      ? rt.candidates.find((c) => c.id === assigned)
      : rt.job.status === 'paused'
        ? rt.candidates.find((c) => c.id === rt.job.bestCandidateId)
        : this.select(rt);
    return chosen ?? this.baseline(rt);
  }

  /** A new rollout in memory: sticky to its candidate and in flight until its reward or the expiry. */
  private track(rt: JobRuntime, rolloutId: string, candidateId: string, req: DispatchRequest): void {
    rt.remember(rolloutId, { candidateId, split: req.split ?? 'online', seed: req.seed ?? null, correlationId: req.correlationId ?? null });
    this.startInFlight(rt, rolloutId, candidateId);
  }

  /** Counts the rollout in flight from now (after dropping the entries past their expiry). */
  private startInFlight(rt: JobRuntime, rolloutId: string, candidateId: string): void {
    const now = this.deps.clock.now();
    rt.expireInFlight(now, this.opts.inFlightTtlMs);
    rt.startInFlight(rolloutId, candidateId, now);
  }

  private select(rt: JobRuntime): CandidateRecord | undefined {
    const mipro = rt.job.config.mipro;
    const selection = selectCandidate(
      {
        candidates: rt.views(),
        stint: rt.stint,
        rolloutsPerCandidate: mipro.online_rollouts_per_candidate,
        // Once the pool is final (the candidate cap or the proposer's spend cap reached), selection
        // spends fresh stints on telling the leader from its challenger.
        identify: poolIsFinal(rt),
        // mipro.stop_when_identified: measure what blocks the stop (LUCB on the rule's own bounds).
        stopPair: stopPairFor(rt),
      },
      this.deps.rng,
    );
    if (!selection) return undefined;
    rt.stint = selection.stint;
    return rt.candidates.find((c) => c.id === selection.candidateId);
  }
}
