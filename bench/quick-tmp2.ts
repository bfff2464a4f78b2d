import { runWorldJob } from './sim/worldsBench.js';
import { miproxPolicy } from './sim/policies.js';
const CONFIG = { budget: 2000, rolloutsPerCandidate: 20, proposerMinRollouts: 100, maxCandidates: 12, instructionsPerBatch: 2, proposalLag: 10, maxDelay: 40, missingRate: 0.1, rewardTtl: 100, seeds: { bootstrap: 10, online: 1000, val: 100 }, baselineTheta: { mean: 0.3, sd: 0.5 }, valEvery: 4 };
const [world, isNull, reps, legacy] = [Number(process.argv[2]), process.argv[3] === 'null', Number(process.argv[4]), process.argv[5] === 'legacy'];
const s = runWorldJob(CONFIG as any, { kind: 'worlds', world, isNull, policy: 0, replicates: reps, offset: 3_000_000 }, (rng) => miproxPolicy(20, rng, { maxCandidates: 12, perRollout: legacy }));
console.log(world, isNull, legacy, 'cov', s.coverage, 'false', s.falseImprovement, 'sig', s.significantLift, 'id', s.identification, 'regret', s.regretMean.toFixed(1));
