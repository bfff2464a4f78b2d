import {
  bestScore,
  candidatesToRetire,
  confirmationTargets,
  liftOverControl,
  normalQuantile,
  pickChampion,
  sampleBeta,
  selectCandidate,
  type Stint,
} from '../../src/optimizer/core/index.js';
import { stopPair } from '../../src/optimizer/core/stopRule.js';
import { missingRewardVerdicts } from '../../src/optimizer/core/missingRewards.js';
import { seedMeans } from '../../src/optimizer/core/seedClusters.js';
import type { Rng } from '../../src/shared/rng.js';
import type { Policy, PolicyReport, SimArm } from './types.js';

/**
 * The policies compared. The baselines report the way a naive dashboard would: the arm with the
 * highest raw mean (among arms with at least R rewards), a fixed-n Wald interval on its online
 * rewards, and an unpaired Wald test against the control.
 */

export interface MiproxOptions {
  priorStrength?: number;
  controlFloor?: number;
  /**
   * online_proposer_max_candidates: once the job holds this many candidates the pool is final and
   * selection enters its identification phase (as the runner does). Omitted: never.
   */
  maxCandidates?: number;
  /** mipro.stop_when_identified: selection serves the pair blocking the stop (as the runner does). */
  stopRule?: { epsilon: number; delta: number };
  /**
   * Main before issue 12's seed-level inference (for comparison tables and the tests that must fail
   * on it): per-rollout statistics everywhere (no seed-level stats, no seed pairing) and no exclusion
   * of candidates losing rewards, as the benchmark's policy ran then.
   */
  perRollout?: boolean;
}

export function miproxPolicy(R: number, rng: Rng, opts: MiproxOptions = {}): Policy {
  let stint: Stint | null = null;
  const strength = opts.priorStrength === undefined ? {} : { priorStrength: opts.priorStrength };
  // As the runner does: a candidate losing significantly more rewards than the control is not ranked.
  const flaggedArms = flaggedArmsMemo();
  const championOpts = (arms: readonly SimArm[]) => (opts.perRollout ? strength : { ...strength, excluded: flaggedArms(arms) });
  // Main before: no seed-level statistics, and every shared val seed pairs (no run times).
  const view = (arms: readonly SimArm[]): readonly SimArm[] => (opts.perRollout ? arms.map((a) => ({ ...a, seedStats: undefined })) : arms);
  return {
    name: opts.perRollout ? 'miprox per-rollout (main before)' : 'miprox',
    confirmsOnVal: true,
    select(all) {
      const arms = view(all);
      const identify = opts.maxCandidates !== undefined && arms.length >= opts.maxCandidates;
      const pair = opts.stopRule && opts.maxCandidates !== undefined
        ? stopPair({ candidates: arms, rolloutsPerCandidate: R, ...opts.stopRule, maxCandidates: opts.maxCandidates, poolFinal: identify, valSeedCount: 0 })
        : null;
      const input = {
        candidates: arms, stint, rolloutsPerCandidate: R, identify, stopPair: pair,
        ...(opts.controlFloor === undefined ? {} : { controlFloor: opts.controlFloor }),
      };
      const choice = selectCandidate(input, rng);
      if (!choice) throw new Error('no candidate selectable');
      stint = choice.stint;
      return choice.candidateId;
    },
    retire: (arms) => candidatesToRetire(view(arms), { rolloutsPerCandidate: R }),
    confirmationTargets: (arms) => confirmationTargets(view(arms), R, championOpts(arms)),
    report(all): PolicyReport {
      const arms = view(all);
      const championId = pickChampion(arms, R, championOpts(arms)) ?? arms[0]!.id;
      const champion = arms.find((a) => a.id === championId)!;
      const control = arms.find((a) => a.isControl)!;
      const score = bestScore(champion);
      const side = (a: SimArm) => (opts.perRollout ? { ...a, valAtBySeed: undefined } : { ...a, onlineBySeed: seedMeans(a.ledger) });
      const lift = champion === control ? null : liftOverControl(side(champion), side(control));
      return { championId, ci: score.ci, significantLift: lift?.significant ?? false };
    },
  };
}

/**
 * Flagged arms, recomputed every 50 settled rollouts or when an arm is added (the runner re-reads
 * missing counts periodically too, runner/missingRewards.ts): every step would cost the tables minutes.
 */
function flaggedArmsMemo(): (arms: readonly SimArm[]) => Set<string> {
  let due = Number.NEGATIVE_INFINITY;
  let count = 0;
  let flagged = new Set<string>();
  return (arms) => {
    const now = arms.reduce((s, a) => s + a.missing.due, 0);
    if (now >= due + 50 || arms.length !== count) {
      due = now;
      count = arms.length;
      const verdicts = missingRewardVerdicts(arms);
      flagged = new Set(arms.filter((a) => verdicts.get(a.id)?.flagged).map((a) => a.id));
    }
    return flagged;
  };
}

export function roundRobinPolicy(R: number): Policy {
  let turn = 0;
  return baseline('round-robin', R, (arms) => arms[turn++ % arms.length]!.id);
}

export function ucb1Policy(R: number): Policy {
  return baseline('UCB1', R, (arms) => {
    const unrewarded = arms.filter((a) => a.stats.n === 0).sort((a, b) => a.dispatches - b.dispatches)[0];
    if (unrewarded) return unrewarded.id;
    const total = arms.reduce((s, a) => s + a.stats.n, 0);
    let best = arms[0]!;
    let bestIndex = Number.NEGATIVE_INFINITY;
    for (const a of arms) {
      const index = a.stats.mean + Math.sqrt((2 * Math.log(total)) / a.stats.n);
      if (index > bestIndex) {
        bestIndex = index;
        best = a;
      }
    }
    return best.id;
  });
}

export function thompsonPolicy(R: number, rng: Rng): Policy {
  return baseline('Thompson', R, (arms) => {
    let best = arms[0]!;
    let bestDraw = Number.NEGATIVE_INFINITY;
    for (const a of arms) {
      const s = a.stats.n * a.stats.mean;
      const draw = sampleBeta(1 + s, 1 + a.stats.n - s, rng);
      if (draw > bestDraw) {
        bestDraw = draw;
        best = a;
      }
    }
    return best.id;
  });
}

const Z = normalQuantile(0.975);

function baseline(name: string, R: number, select: (arms: readonly SimArm[]) => string): Policy {
  return {
    name,
    confirmsOnVal: false,
    select,
    retire: () => [],
    confirmationTargets: () => [],
    report(arms) {
      const control = arms.find((a) => a.isControl)!;
      const eligible = arms.filter((a) => a.stats.n >= R);
      const champion = eligible.reduce((best, a) => (a.stats.mean > best.stats.mean ? a : best), eligible[0] ?? control);
      const se = (a: SimArm): number => Math.sqrt((a.stats.mean * (1 - a.stats.mean)) / Math.max(1, a.stats.n));
      const ci: [number, number] = [champion.stats.mean - Z * se(champion), champion.stats.mean + Z * se(champion)];
      const diff = champion.stats.mean - control.stats.mean;
      const seDiff = Math.sqrt(se(champion) ** 2 + se(control) ** 2);
      return { championId: champion.id, ci, significantLift: champion !== control && diff - Z * seDiff > 0 };
    },
  };
}

/**
 * Not a policy anyone can run: it knows the true means and splits all online traffic between the
 * two truly best arms, then names the one with the higher observed mean. It shows how often the best
 * arm can be identified at all with this budget and these gaps (a practical ceiling).
 */
export function oracleTopTwoPolicy(): Policy {
  const topTwo = (arms: readonly SimArm[]): SimArm[] => [...arms].sort((a, b) => b.trueMean - a.trueMean).slice(0, 2);
  return {
    name: 'oracle top-2 (reference)',
    confirmsOnVal: false,
    measuresChildren: false,
    select: (arms) => topTwo(arms).sort((a, b) => a.dispatches - b.dispatches)[0]!.id,
    retire: () => [],
    confirmationTargets: () => [],
    report(arms) {
      const [a, b] = topTwo(arms);
      const champion = b && b.stats.n > 0 && (a!.stats.n === 0 || b.stats.mean > a!.stats.mean) ? b : a!;
      return { championId: champion.id, ci: null, significantLift: false };
    },
  };
}
