import type { Stint } from '../core/selection.js';
import type { CandidateView } from '../core/types.js';
import type { CandidateMoments, CandidateRecord, JobRecord, ModuleRecord, RolloutAssignment, Split } from '../../store/types.js';
import type { ParsedTemplate } from '../core/templates.js';
import { toUnitStats, type RewardRange } from '../core/rewardRange.js';
import type { MissingCounts } from '../core/missingRewards.js';
import { addSeedReward, ledgerFromCells, ledgerStats, newSeedLedger, seedMeans, type SeedCell, type SeedLedger } from '../core/seedClusters.js';
import type { RunningStats } from '../core/types.js';
import type { RolloutTally } from './rolloutTally.js';

/**
 * What one server instance remembers about a job between requests. The database stays the source of
 * truth; this is a short-lived cache (refreshed every `ttlMs`) plus state that is per-instance by
 * nature: the current stint, rollouts in flight, and which candidate recent rollout ids were given.
 */
const MAX_STICKY = 20_000;

export type KnownRollout = RolloutAssignment;
/** Rollouts whose reward never came are forgotten first when this many are outstanding. */
const MAX_IN_FLIGHT = 50_000;

/** Which rewards a seed ledger holds: training (online and bootstrap) or monitored after the end. */
type LedgerKind = 'online' | 'monitor';

export class JobRuntime {
  job: JobRecord;
  candidates: CandidateRecord[] = [];
  /** The program's modules with their templates parsed (matching runs on every call). */
  modules: (ModuleRecord & { parsed: ParsedTemplate })[] = [];
  /** Unmatched system texts already reported from this instance (short ones as text, long ones by hash). */
  readonly unmatchedSeen = new Set<string>();
  /**
   * Modules whose calls came without a rollout id (each a rollout of its own) since this instance
   * loaded the job; null once `mipro.rollout.per_call` was reported from here (perCallRollouts.ts).
   */
  perCallModules: Set<string> | null = new Set();
  fetchedAt = 0;
  /** When a call, reward or scheduler last used this cache (the engine drops idle ones). */
  usedAt = 0;
  stint: Stint | null = null;
  /** rollout id -> candidate id, for rollouts dispatched here and not yet rewarded or expired. */
  private readonly inFlight = new Map<string, { candidateId: string; at: number }>();
  /** In-flight rollouts per candidate, kept in step with `inFlight` (read on every dispatch). */
  private readonly inFlightByCandidate = new Map<string, number>();
  /** Recent rollouts of this instance: sticky routing and reward resolution without a database read. */
  readonly sticky = new Map<string, KnownRollout>();
  /**
   * Client rollout ids this instance is claiming right now (insert-first, engine.ts): a concurrent
   * call of the same id waits for the claim's answer instead of claiming with another candidate.
   */
  readonly claims = new Map<string, Promise<KnownRollout>>();
  proposalRunning = false;
  /** The job was deleted (here, or seen gone by a refresh): the engine no longer hands this runtime out. */
  deleted = false;
  /**
   * Rollout records this instance remembered before their insert committed (dispatcher reserve): until
   * then the memory is their only copy, so the engine keeps the job cached (JobRuntime.busy).
   */
  pendingInserts = 0;
  /** Those inserts by rollout id, until they settle: a later call tagging the rollout (a correlation id) waits for its record. */
  readonly inserting = new Map<string, Promise<unknown>>();
  /** Missing-reward counts by candidate (runner/missingRewards.ts), re-read every MISSING_REFRESH_MS. */
  missing: ReadonlyMap<string, MissingCounts> = new Map();
  missingAt = Number.NEGATIVE_INFINITY;
  /** Candidates whose missing-rewards flag this instance already recorded. */
  readonly missingFlagged = new Set<string>();
  /** What this instance last reported when demos_only found no demo in any module (the modules running a tool loop, as JSON): one event, not one per trigger; null: nothing yet. */
  noDemosReported: string | null = null;
  /** The state (demoSkip.ts `demoSkipKey`) on which demos_only last found nothing to propose; null: none. */
  demoSkip: string | null = null;
  /** Training rewards this instance applied at or above demo_min_reward: each may have added a demo. */
  demoSourceRewards = 0;
  /**
   * Each candidate's training rewards by seed (seed-level statistics, core/seedClusters.ts), kept
   * up to date by `applyReward` in O(1); rebuilt from the database only when its reward count
   * disagrees with the stored one (first load, or rewards another instance recorded).
   */
  private readonly ledgers = new Map<string, SeedLedger>();
  /** The same per candidate for its monitored rewards (after the end): the guard's seed-level statistics. */
  private readonly monitorLedgers = new Map<string, SeedLedger>();

  /**
   * The engine's running total of remembered rollouts (sticky and in flight), which this runtime
   * keeps current; a runtime of its own until it is cached (tests build runtimes alone).
   */
  private tally: RolloutTally;

  constructor(job: JobRecord, tally: RolloutTally = { count: 0 }) {
    this.job = job;
    this.tally = tally;
  }

  /** Rollouts this runtime holds: remembered (sticky) and in flight, each entry counted. */
  get rolloutsHeld(): number {
    return this.sticky.size + this.inFlight.size;
  }

  /**
   * Whether dropping this runtime now could lose something or stop work: a proposal running on it, a
   * rollout remembered before its insert committed. The engine keeps it then. A claim in flight is no
   * reason: it inserts first, so a call of its id on a runtime built meanwhile claims it again and
   * gets the candidate stored (the database decides, as between instances).
   */
  get busy(): boolean {
    return this.proposalRunning || this.pendingInserts > 0;
  }

  /**
   * The engine dropped this runtime: its rollouts leave the engine's total. A request still holding
   * it may go on using it; what it adds then counts in a tally of its own, not in the engine's.
   */
  detach(): void {
    const held = this.rolloutsHeld;
    this.tally.count -= held;
    this.tally = { count: held };
  }

  private valSeeds: Set<number> | null = null;

  /** Whether `seed` is one of the job's held-out val seeds (the set is built once; the config never changes). */
  isValSeed(seed: number): boolean {
    this.valSeeds ??= new Set(this.job.config.mipro.val_seeds);
    return this.valSeeds.has(seed);
  }

  remember(rolloutId: string, known: KnownRollout): void {
    const before = this.sticky.size;
    this.sticky.set(rolloutId, known);
    if (this.sticky.size > MAX_STICKY) {
      const oldest = this.sticky.keys().next().value;
      if (oldest !== undefined) this.sticky.delete(oldest);
    }
    this.tally.count += this.sticky.size - before;
  }

  /** Drops what `remember` stored for the id, if it is still `known` (a later assignment stays). */
  forget(rolloutId: string, known: KnownRollout): void {
    if (this.sticky.get(rolloutId) !== known) return;
    this.sticky.delete(rolloutId);
    this.tally.count -= 1;
  }

  startInFlight(rolloutId: string, candidateId: string, at: number): void {
    if (this.inFlight.has(rolloutId)) return;
    if (this.inFlight.size >= MAX_IN_FLIGHT) {
      const oldest = this.inFlight.keys().next().value;
      if (oldest !== undefined) this.endInFlight(oldest);
    }
    this.inFlight.set(rolloutId, { candidateId, at });
    this.tally.count += 1;
    this.inFlightByCandidate.set(candidateId, (this.inFlightByCandidate.get(candidateId) ?? 0) + 1);
  }

  endInFlight(rolloutId: string): void {
    const entry = this.inFlight.get(rolloutId);
    if (!entry) return;
    this.inFlight.delete(rolloutId);
    this.tally.count -= 1;
    this.inFlightByCandidate.set(entry.candidateId, (this.inFlightByCandidate.get(entry.candidateId) ?? 1) - 1);
  }

  /** Rewards that never come must not hold a candidate's in-flight slots forever. */
  expireInFlight(now: number, ttlMs: number): void {
    for (const [id, entry] of this.inFlight) {
      if (now - entry.at < ttlMs) break; // insertion order = dispatch order
      this.endInFlight(id);
    }
  }

  inFlightOf(candidateId: string): number {
    return this.inFlightByCandidate.get(candidateId) ?? 0;
  }

  /** The core's view of the candidates, with this instance's in-flight counts and seed-level statistics. */
  views(): CandidateView[] {
    return this.candidates.map((c) => toCandidateView(c, this.inFlightOf(c.id), this.job.config.mipro.reward_range, this.seedStatsOf(c.id)));
  }

  /** Seed-level statistics of a candidate's training rewards (job units); undefined when none carried a seed. */
  seedStatsOf(candidateId: string): RunningStats | undefined {
    const ledger = this.ledgers.get(candidateId);
    return ledger ? ledgerStats(ledger) : undefined;
  }

  /** Seed-level statistics of a candidate's monitored rewards (job units); undefined when none carried a seed. */
  monitorSeedStatsOf(candidateId: string): RunningStats | undefined {
    const ledger = this.monitorLedgers.get(candidateId);
    return ledger ? ledgerStats(ledger) : undefined;
  }

  /** Mean training reward per seed (job units), for pairing candidates by seed. */
  seedMeansOf(candidateId: string): Map<number, number> {
    const ledger = this.ledgers.get(candidateId);
    return ledger ? seedMeans(ledger) : new Map();
  }

  /**
   * Whether a ledger lost track of its candidate's stored rewards (refresh then re-reads the cells):
   * missing while rewards exist, or off by more than 1% of them. The tolerance matters on big jobs:
   * under concurrent rewards a refresh often lands between a reward's commit and its applyReward,
   * and re-reading a million rewards' cells every second for a difference of a few would stall
   * the hot path; 1% of stale rewards moves no decision.
   */
  staleLedgers(kind: LedgerKind = 'online'): boolean {
    const ledgers = this.ledgersOf(kind);
    return this.candidates.some((c) => {
      const stored = c[kind].n;
      const ledger = ledgers.get(c.id);
      if (!ledger) return stored > 0;
      return Math.abs(ledger.rewards - stored) > 0.01 * stored;
    });
  }

  /** Replaces every ledger of that kind with the stored cells (onlineSeedCells / monitorSeedCells). */
  loadLedgers(cells: ReadonlyMap<string, readonly SeedCell[]>, kind: LedgerKind = 'online'): void {
    const ledgers = this.ledgersOf(kind);
    ledgers.clear();
    for (const [id, list] of cells) ledgers.set(id, ledgerFromCells(list));
  }

  private ledgersOf(kind: LedgerKind): Map<string, SeedLedger> {
    return kind === 'monitor' ? this.monitorLedgers : this.ledgers;
  }

  /**
   * Takes a candidate's moments as the database returned them right after a reward. Absolute values,
   * not an increment: a refresh that already read this reward's commit cannot make it count twice
   * (issue 18). A moment set the cache holds with a larger n is newer and kept.
   */
  applyMoments(candidateId: string, m: CandidateMoments): void {
    const c = this.candidates.find((x) => x.id === candidateId);
    if (c) takeNewerMoments(c, m);
  }

  /**
   * The candidates as just read from the database. A reward's moments applied while the read was in
   * flight may be newer than what it returned: per candidate, the larger n wins.
   */
  replaceCandidates(fresh: CandidateRecord[]): void {
    const cached = new Map(this.candidates.map((c) => [c.id, c]));
    for (const c of fresh) {
      const old = cached.get(c.id);
      if (old) takeNewerMoments(c, old);
    }
    this.candidates = fresh;
  }

  /** Applies a reward to the cached statistics (Welford), mirroring the database's update (monitor: the guard's own moments). */
  applyReward(candidateId: string, reward: number, split: Split, seed: number | null = null): void {
    const c = this.candidates.find((x) => x.id === candidateId);
    if (!c) return;
    const s = split === 'val' ? c.val : split === 'monitor' ? c.monitor : c.online;
    const n = s.n + 1;
    const delta = reward - s.mean;
    const mean = s.mean + delta / n;
    const next = { n, mean, m2: s.m2 + delta * (reward - mean) };
    if (split === 'val') c.val = next;
    else if (split === 'monitor') {
      c.monitor = next;
      c.monitorInUnitInterval &&= reward >= 0 && reward <= 1;
      this.addToLedger(candidateId, reward, split, seed);
    } else {
      c.online = next;
      c.rewardsInUnitInterval &&= reward >= 0 && reward <= 1;
      this.addToLedger(candidateId, reward, split, seed);
    }
  }

  /** A training or monitored reward into its candidate's seed ledger (the moments path takes the rest from the database). */
  addToLedger(candidateId: string, reward: number, split: Split, seed: number | null): void {
    if (split === 'val') return;
    const ledgers = this.ledgersOf(split === 'monitor' ? 'monitor' : 'online');
    let ledger = ledgers.get(candidateId);
    if (!ledger) ledgers.set(candidateId, (ledger = newSeedLedger()));
    addSeedReward(ledger, seed, reward);
  }
}

function takeNewerMoments(c: CandidateRecord, m: CandidateMoments): void {
  if (m.online.n > c.online.n) {
    c.online = m.online;
    c.rewardsInUnitInterval = m.rewardsInUnitInterval;
  }
  if (m.val.n > c.val.n) c.val = m.val;
  if (m.monitor.n > c.monitor.n) {
    c.monitor = m.monitor;
    c.monitorInUnitInterval = m.monitorInUnitInterval;
  }
}

/**
 * The core judges candidates on rewards rescaled to [0, 1] by the job's declared range (every reward
 * lies inside it: the reward route refuses others), so its Beta posteriors and Hoeffding-based
 * confidence sequences hold whatever the reward distribution. Ids and decisions do not depend on
 * the scale; figures shown to people are mapped back (services/jobSummary.ts).
 */
export function toCandidateView(c: CandidateRecord, inFlight: number, range: RewardRange, seedStats?: RunningStats): CandidateView {
  return {
    id: c.id,
    isControl: c.parentId === null && c.ordinal === 0,
    status: c.status,
    createdOrder: c.ordinal,
    dispatches: c.dispatches,
    inFlight,
    stats: toUnitStats(c.online, range),
    // Seed-level evidence, on the same [0, 1] scale (every decision reads it: core/statistics.ts evidenceStats).
    seedStats: seedStats ? toUnitStats(seedStats, range) : undefined,
    unitInterval: true,
  };
}
