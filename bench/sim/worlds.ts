import { sampleStandardNormal } from '../../src/optimizer/core/index.js';
import type { Rng } from '../../src/shared/rng.js';
import type { ArmModel, SimConfig, SimWorld, WorldStreams } from './types.js';
import { drawSeeds, sigmoid, trueMean } from './world.js';

/**
 * The configurations people actually run (issue 12), beside the benchmark's large-pool world:
 * the seed request's own configuration (5 online seeds, 3 val seeds, temperature 0), its no-val
 * loop, a small pool at temperature 0, heavy-tailed rewards inside a declared range, children that
 * drop their reward when they fail, drifting traffic, and a proposer that mostly makes small edits,
 * sometimes regressions and rarely a real win. Each world is a theta world (P(success) =
 * sigmoid(theta - b_seed)) with one thing changed; each has a null variant (every child identical to
 * its parent) where any significant improvement is false.
 *
 * Temperature 0 means a prompt's answer on a seed is fixed: its reward there is 1 when a uniform
 * u(prompt, seed), fixed for the run, is below sigmoid(theta - b_s). Prompts share the seed's
 * difficulty b_s but not u: two equally good prompts get different seeds right (and an identical child
 * of its parent too: a reworded prompt is a different prompt at temperature 0). Averaged over the seed
 * population this is still E_b[sigmoid(theta - b)], the true mean every world reports against, while
 * on 5 seeds two equal prompts can differ by 40 points however often the seeds are repeated.
 */

export type RewardKind = 'stochastic' | 'deterministic' | 'heavy_tailed';

/** How children differ from their parent (theta, in logits). */
export type ChildKind = 'identical' | 'neutral' | 'mixture' | 'droppers';

export interface WorldSpec {
  name: string;
  seeds: SimConfig['seeds'];
  rewards: RewardKind;
  /** Theta shift over the run: from -drift/2 at the first rollout to +drift/2 at the last (0: none). */
  drift: number;
  /** The non-null variant's children (the null variant's are identical to their parent). */
  children: Exclude<ChildKind, 'identical'>;
  /** Null variant only: children keep dropping rewards (informative missingness with no real gain). */
  nullDrops?: boolean;
}

const LARGE = { bootstrap: 10, online: 1000, val: 100 };

export const WORLDS: readonly WorldSpec[] = [
  { name: 'seed config (5 online, 3 val, T=0)', seeds: { bootstrap: 5, online: 5, val: 3 }, rewards: 'deterministic', drift: 0, children: 'neutral' },
  { name: 'seed config, no val (T=0)', seeds: { bootstrap: 5, online: 5, val: 0 }, rewards: 'deterministic', drift: 0, children: 'neutral' },
  { name: 'small pool (30 seeds, T=0, no val)', seeds: { bootstrap: 5, online: 30, val: 0 }, rewards: 'deterministic', drift: 0, children: 'neutral' },
  { name: 'heavy-tailed rewards (range [0, 1e4])', seeds: LARGE, rewards: 'heavy_tailed', drift: 0, children: 'neutral' },
  { name: 'informative missingness', seeds: LARGE, rewards: 'stochastic', drift: 0, children: 'droppers', nullDrops: true },
  { name: 'drift (+0.6 logits over the run)', seeds: LARGE, rewards: 'stochastic', drift: 0.6, children: 'neutral' },
  { name: 'proposer mixture (edits, regressions, rare wins)', seeds: LARGE, rewards: 'stochastic', drift: 0, children: 'mixture' },
];

/** Heavy tails: a reward of 1e4 with this probability, else the 0/1 outcome; declared range [0, 1e4]. */
const SPIKE_CHANCE = 0.001;
const SPIKE = 1e4;
/** A dropper child loses this share of its failed rollouts' rewards. */
const DROP_ON_FAILURE = 0.6;

/** The world of a spec; `isNull`: every child equals its parent. `budget` paces the drift. */
export function specWorld(spec: WorldSpec, isNull: boolean, budget: number, streams: WorldStreams): SimWorld {
  const seeds = drawSeeds(spec.seeds, streams.world);
  // Temperature 0: u(prompt, seed) hashed from a world salt, the prompt's creation index and the seed,
  // so the k-th prompt answers the same whichever policy runs the world.
  const salt = Math.floor(streams.world.next() * 2 ** 32);
  let prompts = 0;
  let offset = -spec.drift / 2;
  const thetaOf = new WeakMap<ArmModel, number>();
  const arm = (theta: number, drops: boolean): ArmModel => {
    const index = prompts++;
    const model: ArmModel = {
      trueMean: worldMean(spec, theta),
      reward: (seed, rng) => rewardOf(spec, theta + offset, seeds.difficulty.get(seed)!, fixedUniform(salt, index, seed), rng),
      module: null,
      ...(drops ? { dropChance: (reward: number) => (reward === 0 ? DROP_ON_FAILURE : 0) } : {}),
    };
    thetaOf.set(model, theta);
    return model;
  };
  const baseline = arm(0.3 + 0.5 * sampleStandardNormal(streams.world), false);
  return {
    seeds,
    baseline,
    propose: (parent) => (count) =>
      Array.from({ length: count }, () => {
        const { delta, drops } = childDelta(spec.children, streams.child);
        return arm(thetaOf.get(parent.model)! + (isNull ? 0 : delta), spec.children === 'droppers' && drops && (!isNull || spec.nullDrops === true));
      }),
    proposalsByModule: () => null,
    tick: (t) => {
      offset = spec.drift * (t / Math.max(1, budget - 1) - 0.5);
    },
  };
}

/**
 * A child's theta change. Always the same number of draws per child (two uniforms and one normal),
 * so the null and non-null variants share the child stream.
 */
function childDelta(kind: ChildKind, rng: Rng): { delta: number; drops: boolean } {
  const u = rng.next();
  const v = rng.next();
  const z = sampleStandardNormal(rng);
  if (kind === 'mixture') {
    // 70% small edits, 25% regressions, 5% rare wins.
    if (u < 0.7) return { delta: 0.1 * z, drops: false };
    if (u < 0.95) return { delta: -(0.4 + 0.3 * Math.abs(z)), drops: false };
    return { delta: 0.6 + 0.1 * z, drops: false };
  }
  if (kind === 'droppers' && v < 0.3) return { delta: -0.3, drops: true };
  return { delta: 0.4 * z, drops: false };
}

/** A uniform in [0, 1) fixed by (salt, prompt, seed): a murmur-style integer hash. */
function fixedUniform(salt: number, prompt: number, seed: number): number {
  let x = (salt ^ Math.imul(prompt + 1, 0x9e3779b1) ^ Math.imul(seed + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

/** One reward on the [0, 1] scale of the declared range; exactly two draws of `rng` per call. */
function rewardOf(spec: WorldSpec, theta: number, difficulty: number, u: number, rng: Rng): number {
  const a = rng.next();
  const b = rng.next();
  const p = sigmoid(theta - difficulty);
  if (spec.rewards === 'deterministic') return u < p ? 1 : 0;
  if (spec.rewards === 'heavy_tailed') return b < SPIKE_CHANCE ? 1 : (a < p ? 1 : 0) / SPIKE;
  return a < p ? 1 : 0;
}

/**
 * The true mean on the range's [0, 1] scale, over the seed population and (with drift) averaged
 * over the run: the figure an honest best_score estimates from traffic spread over the run.
 */
function worldMean(spec: WorldSpec, theta: number): number {
  const points = spec.drift === 0 ? [0] : Array.from({ length: 21 }, (_, i) => spec.drift * (i / 20 - 0.5));
  const success = points.reduce((s, d) => s + trueMean(theta + d), 0) / points.length;
  return spec.rewards === 'heavy_tailed' ? SPIKE_CHANCE + (1 - SPIKE_CHANCE) * success / SPIKE : success;
}
