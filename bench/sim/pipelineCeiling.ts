import { servedStats } from '../../src/optimizer/core/statistics.js';
import { shrunkenMeans } from '../../src/optimizer/core/champion.js';
import type { Rng } from '../../src/shared/rng.js';
import { runWorld } from './engine.js';
import { PIPELINE_SETTINGS, pipelineConfigs } from './pipeline.js';
import { miproxPolicy } from './policies.js';
import { programWorld } from './program.js';
import { treePosteriorMeans } from './treePrior.js';
import type { Policy, SimArm, SimConfig } from './types.js';

/**
 * How far best-program identification in pipeline-3 can go (issue 11): miprox with more rollouts,
 * and miprox whose traffic, once the pool is final, is steered by the TRUE means (no policy can do
 * this; it bounds what any allocation rule could gain on the same pools). Each row runs the same
 * worlds and, until the pool is final, the same choices as miprox (credit); only the rollouts after
 * that, the budget or the final pick differ.
 */

export interface CeilingVariant {
  name: string;
  /** Rollouts per run (the table's is 5,000). */
  budget?: number;
  /** After the pool is final: the best `k` (by `steerBy`) serve, least measured first... */
  steerTop?: number;
  /** ...on this share of the bandit's rollouts (miprox's own choice on the rest). Default 1. */
  steerShare?: number;
  /** Whom `steerTop` ranks by: the true means (default), or the data (the lower-bound score: a rule anyone can run). */
  steerBy?: 'truth' | 'lower_bound';
  /**
   * The final pick: miprox's (best shrunken mean), the highest shrunken mean minus one standard error, or
   * the best posterior mean under the family-tree prior (treePrior.ts).
   */
  pick: 'miprox' | 'lower_bound' | 'tree';
}

export const CEILING_VARIANTS: readonly CeilingVariant[] = [
  { name: 'miprox, 5,000 rollouts (the table)', pick: 'miprox' },
  { name: 'miprox, 7,500 rollouts', budget: 7500, pick: 'miprox' },
  { name: 'miprox, 10,000 rollouts', budget: 10_000, pick: 'miprox' },
  { name: 'true top 2 serve after the pool is final; miprox pick', steerTop: 2, pick: 'miprox' },
  { name: 'true top 2 serve after the pool is final; lower-bound pick', steerTop: 2, pick: 'lower_bound' },
  { name: 'true top 3 serve after the pool is final; lower-bound pick', steerTop: 3, pick: 'lower_bound' },
  { name: 'true top 2 serve half the rollouts after the pool is final; lower-bound pick', steerTop: 2, steerShare: 0.5, pick: 'lower_bound' },
  { name: 'top 2 by lower bound serve half the rollouts after the pool is final; lower-bound pick', steerTop: 2, steerShare: 0.5, steerBy: 'lower_bound', pick: 'lower_bound' },
  { name: 'miprox; lower-bound pick', pick: 'lower_bound' },
  { name: 'miprox; family-tree pick', pick: 'tree' },
];

/** Identification per non-null setting for one variant, over the replicates from `offset`. */
export function ceilingRow(base: SimConfig, variant: CeilingVariant, replicates: number, offset: number): number[] {
  const seedRequest = pipelineConfigs(base)[0]!.cfg;
  const cfg = { ...seedRequest, budget: variant.budget ?? seedRequest.budget };
  const R = cfg.rolloutsPerCandidate;
  return PIPELINE_SETTINGS.filter((s) => !s.isNull).map((setting) => {
    let identified = 0;
    for (let i = 0; i < replicates; i++) {
      const make = (rng: Rng): Policy => steeredPolicy(miproxPolicy(R, rng, { maxCandidates: cfg.maxCandidates }), variant, cfg, rng);
      if (runWorld(cfg, (s) => programWorld(cfg, setting, 'credit', s), make, offset + i).identified) identified += 1;
    }
    return identified / replicates;
  });
}

/** `inner`, with the variant's steering after the pool is final and its final pick. */
export function steeredPolicy(inner: Policy, variant: CeilingVariant, cfg: SimConfig, rng: Rng): Policy {
  const R = cfg.rolloutsPerCandidate;
  // Stints of R rollouts, as miprox serves, so only which program serves differs.
  let stint: { id: string; left: number } | null = null;
  return {
    ...inner,
    select(arms, step) {
      if (variant.steerTop === undefined || arms.length < cfg.maxCandidates) return inner.select(arms, step);
      if (stint && stint.left > 0) {
        stint.left -= 1;
        return stint.id;
      }
      if (rng.next() >= (variant.steerShare ?? 1)) return inner.select(arms, step);
      const score = variant.steerBy === 'lower_bound' ? lowerBoundScores(arms, R) : new Map(arms.map((a) => [a.id, a.trueMean]));
      const top = arms.filter((a) => score.has(a.id) && a.status === 'active').sort((a, b) => score.get(b.id)! - score.get(a.id)!).slice(0, variant.steerTop);
      const id = top.sort((a, b) => a.stats.n - b.stats.n)[0]!.id;
      stint = { id, left: R - 1 };
      return id;
    },
    report(arms) {
      const own = inner.report(arms);
      if (variant.pick === 'miprox') return own;
      const pick = variant.pick === 'tree' ? treePick(arms, R) : lowerBoundPick(arms, R);
      return { ...own, championId: pick ?? own.championId };
    },
  };
}

/**
 * The ranked program (at least R rewards) with the highest shrunken mean minus one standard error
 * (variance proxy 1/4 for 0/1 rewards): a program measured on few rewards must beat a well-measured
 * one by more than its own noise.
 */
export function lowerBoundPick(arms: readonly SimArm[], R: number): string | null {
  let best: { id: string; score: number } | null = null;
  for (const [id, score] of lowerBoundScores(arms, R)) if (!best || score > best.score) best = { id, score };
  return best?.id ?? null;
}

/** The ranked program (at least R rewards) with the highest posterior mean under the family-tree prior. */
export function treePick(arms: readonly SimArm[], R: number): string | null {
  const means = treePosteriorMeans(arms);
  const ranked = arms.filter((a) => a.status === 'active' && a.stats.n >= R);
  return ranked.reduce<SimArm | null>((best, a) => (!best || means.get(a.id)! > means.get(best.id)! ? a : best), null)?.id ?? null;
}

function lowerBoundScores(arms: readonly SimArm[], R: number): Map<string, number> {
  const means = shrunkenMeans(arms);
  const ranked = arms.filter((a) => a.status === 'active' && a.stats.n >= R);
  return new Map(ranked.map((a) => [a.id, means.get(a.id)! - Math.sqrt(0.25 / (servedStats(a).n + 1))]));
}

export function ceilingTable(rows: readonly { variant: CeilingVariant; identified: number[] }[]): string {
  const settings = PIPELINE_SETTINGS.filter((s) => !s.isNull).map((s) => s.name);
  const head = `| variant | ${settings.join(' | ')} |`;
  const lines = rows.map((r) => `| ${r.variant.name} | ${r.identified.map((x) => `${(100 * x).toFixed(1)}%`).join(' | ')} |`);
  return [head, `|---|${'---:|'.repeat(settings.length)}`, ...lines].join('\n');
}
