import { sampleStandardNormal } from '../../src/optimizer/core/index.js';
import type { Rng } from '../../src/shared/rng.js';
import type { ArmModel, Setting, SimConfig, SimWorld, WorldStreams } from './types.js';

/**
 * The simulated task: P(success | candidate c, seed s) = sigmoid(theta_c - b_s), with a difficulty
 * b_s ~ N(0, 1) per seed. A candidate's true mean accuracy is the average over the seed population,
 * E_b[sigmoid(theta - b)], computed by quadrature (not from the finite seed sets).
 */

export interface Seeds {
  bootstrap: number[];
  online: number[];
  val: number[];
  /** Difficulty by seed id. */
  difficulty: Map<number, number>;
}

export interface SeedCounts {
  bootstrap: number;
  online: number;
  val: number;
}

/** Seed ids follow the usual layout: bootstrap 0.., online 10_000.., val 100_000.. */
export function drawSeeds(counts: SeedCounts, rng: Rng): Seeds {
  const difficulty = new Map<number, number>();
  const make = (offset: number, n: number): number[] =>
    Array.from({ length: n }, (_, i) => {
      difficulty.set(offset + i, sampleStandardNormal(rng));
      return offset + i;
    });
  return { bootstrap: make(0, counts.bootstrap), online: make(10_000, counts.online), val: make(100_000, counts.val), difficulty };
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

// Midpoint rule on [-8, 8] against the standard normal density: error far below 1e-6.
const GRID = Array.from({ length: 800 }, (_, i) => -8 + (i + 0.5) * (16 / 800));
const WEIGHTS = (() => {
  const raw = GRID.map((b) => Math.exp(-0.5 * b * b));
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
})();

export function trueMean(theta: number): number {
  let sum = 0;
  for (let i = 0; i < GRID.length; i++) sum += WEIGHTS[i]! * sigmoid(theta - GRID[i]!);
  return sum;
}

export function drawReward(theta: number, difficulty: number, rng: Rng): number {
  return rng.next() < sigmoid(theta - difficulty) ? 1 : 0;
}

/**
 * The single-prompt world of a setting: seeds and the baseline's theta from the world stream (in that
 * order), child theta = parent theta + N(mu, sigma) from the child stream, one draw per child.
 */
export function thetaWorld(cfg: SimConfig, setting: Setting, streams: WorldStreams): SimWorld {
  const seeds = drawSeeds(cfg.seeds, streams.world);
  // Keyed by the model object: the engine hands the parent arm back, and its model is one of ours.
  const thetaOf = new WeakMap<ArmModel, number>();
  const arm = (theta: number): ArmModel => {
    const model: ArmModel = {
      trueMean: trueMean(theta),
      reward: (seed, rng) => drawReward(theta, seeds.difficulty.get(seed)!, rng),
      module: null,
    };
    thetaOf.set(model, theta);
    return model;
  };
  const baseline = arm(cfg.baselineTheta.mean + cfg.baselineTheta.sd * sampleStandardNormal(streams.world));
  return {
    seeds,
    baseline,
    propose: (parent) => (count) =>
      Array.from({ length: count }, () => {
        const noise = setting.childMu === null ? 0 : setting.childMu + setting.childSigma * sampleStandardNormal(streams.child);
        return arm(thetaOf.get(parent.model)! + noise);
      }),
    proposalsByModule: () => null,
  };
}
