import type { SimConfig } from './types.js';

/** The benchmark's job configuration (docs/optimizer-benchmark.md "Setup"); tests vary it by spreading. */
export const BENCH_CONFIG: SimConfig = {
  budget: 2000,
  rolloutsPerCandidate: 20,
  proposerMinRollouts: 100,
  maxCandidates: 12,
  instructionsPerBatch: 2,
  proposalLag: 10,
  maxDelay: 40,
  missingRate: 0.1,
  rewardTtl: 100,
  seeds: { bootstrap: 10, online: 1000, val: 100 },
  baselineTheta: { mean: 0.3, sd: 0.5 },
  valEvery: 4,
};
