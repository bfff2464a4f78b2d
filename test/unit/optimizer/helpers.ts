import { statsOf, type CandidateView } from '../../../src/optimizer/core/index.js';

/** A candidate with sensible defaults; `rewards` become its online statistics. */
export function candidate(id: string, over: Partial<CandidateView> & { rewards?: number[] } = {}): CandidateView {
  const { rewards, ...rest } = over;
  const stats = rewards ? statsOf(rewards) : { n: 0, mean: 0, m2: 0 };
  return {
    id,
    isControl: id === 'baseline',
    status: 'active',
    createdOrder: 0,
    dispatches: stats.n,
    inFlight: 0,
    stats,
    unitInterval: true,
    ...rest,
  };
}

/** n rewards of 0/1 with exactly round(n * p) ones, spread evenly. */
export function bernoulliRewards(n: number, p: number): number[] {
  const ones = Math.round(n * p);
  return Array.from({ length: n }, (_, i) => (Math.floor(((i + 1) * ones) / n) > Math.floor((i * ones) / n) ? 1 : 0));
}
