import type { ReplicateResult } from './types.js';

/** Summary of one (setting, policy) cell over its replicates. */
export interface CellSummary {
  replicates: number;
  regretMean: number;
  regretSe: number;
  /** Champion within 0.01 of the best true mean (the headline definition). */
  identification: number;
  /** Champion within 0.02 of the best true mean. */
  identification02: number;
  simpleRegretMean: number;
  coverage: number | null;
  significantLift: number;
  /** Significant lift reported while the champion is not truly better than the control. */
  falseImprovement: number;
  valShare: number;
  retiredMean: number;
  armsMean: number;
  /** Mean true mean of the champion (what the run delivers; comparable across policies). */
  championMean: number;
  /** Mean share of proposals per module (program worlds); null otherwise. */
  moduleShares: number[] | null;
  /** Stop rule: share of replicates it ended early, mean rollouts used, identification among those it ended. */
  stoppedShare: number;
  rolloutsUsedMean: number;
  stoppedIdentification: number | null;
  /** Val seeds found in online statistics, summed over replicates (must be 0). */
  valSeedLeaks: number;
}

export function summarize(results: readonly ReplicateResult[], budget: number): CellSummary {
  const n = results.length;
  const mean = (f: (r: ReplicateResult) => number): number => results.reduce((s, r) => s + f(r), 0) / n;
  const regretMean = mean((r) => r.cumulativeRegret);
  const regretVar = results.reduce((s, r) => s + (r.cumulativeRegret - regretMean) ** 2, 0) / Math.max(1, n - 1);
  const withCi = results.filter((r) => r.covered !== null);
  const stopped = results.filter((r) => r.stoppedAt !== null);
  return {
    replicates: n,
    regretMean,
    regretSe: Math.sqrt(regretVar / n),
    identification: mean((r) => (r.identified ? 1 : 0)),
    identification02: mean((r) => (r.simpleRegret <= 0.02 ? 1 : 0)),
    simpleRegretMean: mean((r) => r.simpleRegret),
    coverage: withCi.length > 0 ? withCi.filter((r) => r.covered).length / withCi.length : null,
    significantLift: mean((r) => (r.significantLift ? 1 : 0)),
    falseImprovement: mean((r) => (r.significantLift && !r.championTrulyBetter ? 1 : 0)),
    valShare: mean((r) => r.valRollouts) / budget,
    retiredMean: mean((r) => r.retired),
    armsMean: mean((r) => r.arms),
    championMean: mean((r) => r.championTrueMean),
    moduleShares: moduleShares(results),
    stoppedShare: mean((r) => (r.stoppedAt === null ? 0 : 1)),
    rolloutsUsedMean: mean((r) => r.stoppedAt ?? budget),
    stoppedIdentification: stopped.length > 0 ? stopped.filter((r) => r.identified).length / stopped.length : null,
    valSeedLeaks: results.reduce((s, r) => s + r.valSeedLeaks, 0),
  };
}

/** Per replicate share of its proposals per module, averaged over the replicates that proposed. */
function moduleShares(results: readonly ReplicateResult[]): number[] | null {
  const counts = results.flatMap((r) => (r.proposalsByModule ? [r.proposalsByModule] : []));
  const proposing = counts.filter((c) => c.reduce((a, b) => a + b, 0) > 0);
  if (proposing.length === 0) return null;
  const width = proposing[0]!.length;
  return Array.from({ length: width }, (_, m) =>
    proposing.reduce((s, c) => s + c[m]! / c.reduce((a, b) => a + b, 0), 0) / proposing.length);
}
