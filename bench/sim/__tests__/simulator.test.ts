import { describe, expect, it } from 'vitest';
import { createSeededRng } from '../../../src/shared/rng.js';
import { sampleStandardNormal } from '../../../src/optimizer/core/index.js';
import type { CellSummary } from '../aggregate.js';
import { runReplicate } from '../engine.js';
import { miproxPolicy, oracleTopTwoPolicy, roundRobinPolicy } from '../policies.js';
import { identificationByBudget, verdicts, type Cell } from '../report.js';
import type { Setting, SimConfig } from '../types.js';
import { sigmoid, trueMean } from '../world.js';

const CONFIG: SimConfig = {
  budget: 1500,
  rolloutsPerCandidate: 20,
  proposerMinRollouts: 100,
  maxCandidates: 8,
  instructionsPerBatch: 2,
  proposalLag: 10,
  maxDelay: 40,
  missingRate: 0.1,
  rewardTtl: 100,
  seeds: { bootstrap: 10, online: 300, val: 50 },
  baselineTheta: { mean: 0.3, sd: 0.5 },
  valEvery: 4,
};
const NULL_SETTING: Setting = { name: 'null', childMu: null, childSigma: 0 };
const BETTER: Setting = { name: 'better', childMu: 0.3, childSigma: 0.4 };

describe('simulated task', () => {
  it('computes a candidate true mean as the average over the seed population', () => {
    const rng = createSeededRng(7);
    for (const theta of [-1, 0.3, 1.5]) {
      let sum = 0;
      const draws = 200_000;
      for (let i = 0; i < draws; i++) sum += sigmoid(theta - sampleStandardNormal(rng));
      expect(trueMean(theta)).toBeCloseTo(sum / draws, 2);
    }
  });
});

describe('runReplicate', () => {
  it('is reproducible: the same replicate gives the same result', () => {
    const run = (): unknown => runReplicate(CONFIG, BETTER, (rng) => miproxPolicy(20, rng, { maxCandidates: 8 }), 3);
    expect(run()).toEqual(run());
  });

  it('counts every candidate as best when all are equal (null setting) and grows the pool to maxCandidates', () => {
    const result = runReplicate(CONFIG, NULL_SETTING, () => roundRobinPolicy(20), 0);
    expect(result.identified).toBe(true);
    expect(result.simpleRegret).toBe(0);
    expect(result.cumulativeRegret).toBe(0);
    expect(result.arms).toBe(CONFIG.maxCandidates);
  });

  it('spends val rollouts only for the policy that confirms on val', () => {
    const miprox = runReplicate(CONFIG, BETTER, (rng) => miproxPolicy(20, rng, { maxCandidates: 8 }), 1);
    const roundRobin = runReplicate(CONFIG, BETTER, () => roundRobinPolicy(20), 1);
    expect(miprox.valRollouts).toBeGreaterThan(0);
    expect(miprox.valRollouts).toBeLessThan(CONFIG.budget / CONFIG.valEvery + 1);
    expect(roundRobin.valRollouts).toBe(0);
  });

  it('gives the oracle (which knows the true means) less regret than round-robin on the same worlds', () => {
    let oracle = 0;
    let roundRobin = 0;
    for (let i = 0; i < 20; i++) {
      oracle += runReplicate(CONFIG, BETTER, () => oracleTopTwoPolicy(), i).cumulativeRegret;
      roundRobin += runReplicate(CONFIG, BETTER, () => roundRobinPolicy(20), i).cumulativeRegret;
    }
    expect(oracle).toBeLessThan(roundRobin / 2);
  });
});

describe('verdicts', () => {
  const summary = (over: Partial<CellSummary>): CellSummary => ({
    replicates: 100, regretMean: 50, regretSe: 1, identification: 0.95, identification02: 0.97, simpleRegretMean: 0.001,
    coverage: 0.95, significantLift: 0.5, falseImprovement: 0, valShare: 0.05, retiredMean: 0, armsMean: 12,
    championMean: 0.6, moduleShares: null, stoppedShare: 0, rolloutsUsedMean: 2000, stoppedIdentification: null, valSeedLeaks: 0, ...over,
  });
  const cells = (miprox: Partial<CellSummary>): Cell[] => [
    { setting: BETTER, policy: 'round-robin', summary: summary({ regretMean: 200 }) },
    { setting: BETTER, policy: 'UCB1', summary: summary({ regretMean: 100 }) },
    { setting: BETTER, policy: 'miprox', summary: summary(miprox) },
  ];
  const missed = (c: Cell[]): string[] => verdicts(c, 'miprox').filter((v) => !v.met).map((v) => v.line);

  it('meets every target when regret, identification and coverage are all good', () => {
    expect(missed(cells({}))).toEqual([]);
  });

  it('reports each target that is missed, by name', () => {
    expect(missed(cells({ identification: 0.899 }))).toEqual([expect.stringContaining('identification 89.9%')]);
    expect(missed(cells({ regretMean: 150 }))).toEqual([expect.stringContaining('regret 150.0')]);
    expect(missed(cells({ coverage: 0.85 }))).toEqual([expect.stringContaining('coverage 85.0%')]);
  });
});

describe('identificationByBudget', () => {
  it('prints one row per budget with each policy\'s rates in setting order, skipping the null setting', () => {
    const WORSE: Setting = { name: 'worse', childMu: -0.3, childSigma: 0.4 };
    const cell = (setting: Setting, policy: string, identification: number): Cell =>
      ({ setting, policy, summary: { identification } as CellSummary });
    const table = identificationByBudget(
      [
        { budget: 2000, cells: [cell(NULL_SETTING, 'miprox', 1), cell(WORSE, 'miprox', 0.758), cell(BETTER, 'miprox', 0.845)] },
        { budget: 10000, cells: [cell(NULL_SETTING, 'miprox', 1), cell(WORSE, 'miprox', 0.95), cell(BETTER, 'miprox', 0.988)] },
      ],
      ['miprox'],
      [NULL_SETTING, WORSE, BETTER],
    );
    expect(table.split('\n')).toEqual([
      'Identification (±0.01) with worse / better:',
      '',
      '| rollouts | miprox |',
      '|---|---:|',
      '| 2,000 | 75.8 / 84.5% |',
      '| 10,000 | 95.0 / 98.8% |',
    ]);
  });
});
