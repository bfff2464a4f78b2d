import { ValidationError } from '../../shared/errors.js';

/**
 * Which seed the application should run next, and on which split. Bootstrap seeds come first, each
 * once, on the baseline (they ground the proposer in real inputs); then the online pool cycles and
 * the bandit picks the candidate. Once there is a champion to confirm, every `valEvery`-th rollout is
 * a val rollout that runs a confirmation target (champion, control, runner-up) on a held-out seed it
 * has not run yet. Val seeds are used for nothing else.
 */

export type SeedSplit = 'bootstrap' | 'online' | 'val';

export interface ValConfirmation {
  candidateId: string;
  /** Val seeds already issued to this candidate (rewarded or not). */
  seedsIssued: readonly number[];
}

export interface SeedSchedulerState {
  bootstrapSeeds: readonly number[];
  onlinePool: readonly number[];
  valSeeds: readonly number[];
  /** Rollouts issued so far per split. */
  issued: Readonly<Record<SeedSplit, number>>;
  /**
   * Bootstrap seeds already issued. Given, the next bootstrap seed is the first listed one not in it
   * (a seed listed twice runs once; a race lost to another instance moves on to the next seed);
   * absent, the count in `issued` indexes the list.
   */
  bootstrapIssued?: readonly number[];
  /** The baseline's candidate id: bootstrap rollouts run on it. */
  controlId: string;
  /**
   * Candidates needing val confirmation, most important first (see `confirmationTargets`); empty
   * until a champion other than the control has R rewards.
   */
  confirm: readonly ValConfirmation[];
  /** One rollout in this many is a val rollout while confirmation work is pending. Default 4. */
  valEvery?: number;
}

export interface SeedAssignment {
  seed: number;
  split: SeedSplit;
  /** Set when the scheduler, not the bandit, decides the candidate (bootstrap and val). */
  assignCandidateId?: string;
}

export const DEFAULT_VAL_EVERY = 4;

export function nextSeed(state: SeedSchedulerState): SeedAssignment {
  const bootstrap = nextBootstrapSeed(state);
  if (bootstrap !== undefined) return { seed: bootstrap, split: 'bootstrap', assignCandidateId: state.controlId };

  const every = Math.max(1, Math.floor(state.valEvery ?? DEFAULT_VAL_EVERY));
  const total = state.issued.bootstrap + state.issued.online + state.issued.val;
  if (total % every === every - 1) {
    const val = nextValWork(state);
    if (val) return { seed: val.seed, split: 'val', assignCandidateId: val.candidateId };
  }

  return nextOnlineSeed(state);
}

/** The next seed of the online pool (cycling): what a paused job schedules, serving its best candidate. */
export function nextOnlineSeed(state: SeedSchedulerState): SeedAssignment {
  if (state.onlinePool.length === 0) throw new ValidationError('the online pool is empty', [{ path: 'mipro.online_pool', message: 'must not be empty' }]);
  const seed = state.onlinePool[state.issued.online % state.onlinePool.length]!;
  return { seed, split: 'online' };
}

function nextBootstrapSeed(state: SeedSchedulerState): number | undefined {
  if (!state.bootstrapIssued) return state.bootstrapSeeds[state.issued.bootstrap];
  const issued = new Set(state.bootstrapIssued);
  return state.bootstrapSeeds.find((s) => !issued.has(s));
}

/**
 * The confirmation target furthest behind (ties: the more important one) and its next unrun val
 * seed. Every target walks the val seeds in the same order, so champion and control share seeds
 * and the lift over the control can be paired. A new champion first catches up alone on the seeds
 * the control ran for earlier champions (its own val score gains; those pairs are stale and do not
 * count, valPairs.ts); then the two run each remaining seed one after the other, contemporaneously.
 * Catching up first also spares the control's val seeds (it runs each once) for later champions:
 * having the champion lead fresh seeds with the control following at once gave the final champion
 * fewer contemporaneous pairs in the benchmark (docs/optimizer.md).
 */
export function nextValWork(state: SeedSchedulerState): { candidateId: string; seed: number } | null {
  let best: { candidateId: string; seed: number; done: number } | null = null;
  for (const target of state.confirm) {
    const issued = new Set(target.seedsIssued);
    const seed = state.valSeeds.find((s) => !issued.has(s));
    if (seed === undefined) continue;
    if (!best || issued.size < best.done) best = { candidateId: target.candidateId, seed, done: issued.size };
  }
  return best ? { candidateId: best.candidateId, seed: best.seed } : null;
}
