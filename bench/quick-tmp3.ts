import { runReplicate } from './sim/engine.js';
import { miproxPolicy } from './sim/policies.js';
const CONFIG = { budget: 2000, rolloutsPerCandidate: 20, proposerMinRollouts: 100, maxCandidates: 12, instructionsPerBatch: 2, proposalLag: 10, maxDelay: 40, missingRate: 0.1, rewardTtl: 100, seeds: { bootstrap: 10, online: 1000, val: 100 }, baselineTheta: { mean: 0.3, sd: 0.5 }, valEvery: 4 };
const [budget, mu, reps, from] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5] ?? 0)];
const setting = { name: 'x', childMu: mu, childSigma: 0.4 };
let a = 0, b = 0, both = 0, ra = 0, rb = 0;
for (let i = from; i < from + reps; i++) {
  const x = runReplicate({ ...CONFIG, budget } as any, setting, (rng) => miproxPolicy(20, rng, { maxCandidates: 12 }), i);
  const y = runReplicate({ ...CONFIG, budget } as any, setting, (rng) => miproxPolicy(20, rng, { maxCandidates: 12, perRollout: true }), i);
  a += +x.identified; b += +y.identified; both += +(x.identified && y.identified); ra += x.cumulativeRegret; rb += y.cumulativeRegret;
}
console.log(`budget ${budget} mu ${mu} reps ${reps}: seed-level id ${(100*a/reps).toFixed(1)}% regret ${(ra/reps).toFixed(1)} | per-rollout id ${(100*b/reps).toFixed(1)}% regret ${(rb/reps).toFixed(1)} | both ${both}`);
