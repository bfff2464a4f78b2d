import { IDENTIFICATION_TOLERANCE, runWorld } from './engine.js';
import { PIPELINE_SETTINGS, pipelineConfigs, type PipelineConfig } from './pipeline.js';
import { miproxPolicy } from './policies.js';
import { programWorld } from './program.js';
import type { ModuleChoice } from '../../src/optimizer/core/moduleChoice.js';
import type { Policy, SimArm, SimConfig } from './types.js';

/**
 * Why miprox misses best-program identification in pipeline-3 (issue 11): for each run whose
 * champion is not within IDENTIFICATION_TOLERANCE of the pool's best, which of the causes the
 * product could act on it was. Also where the rollouts went once the pool was final.
 */

export type FailureCause =
  /** Every program within the tolerance of the best was retired (retirement errors are permanent). */
  | 'retired'
  /** The best program never reached R rewards: it was never even ranked. */
  | 'never_ranked'
  /** It was ranked but had fewer than STARVED_BELOW rewards: an unlucky start, then little traffic. */
  | 'starved'
  /** Measured on enough rewards but within NEAR_TIE of the champion: a coin flip at this budget. */
  | 'near_tie'
  /** Measured on enough rewards, more than NEAR_TIE better than the champion, and still not picked. */
  | 'lost_with_data';

export const STARVED_BELOW = 100;
export const NEAR_TIE = 0.02;

/** The cause of a failed identification, from the arms as they stand when the run reports. */
export function failureCause(arms: readonly Pick<SimArm, 'trueMean' | 'status' | 'stats'>[], championTrueMean: number, R: number): FailureCause {
  const best = Math.max(...arms.map((a) => a.trueMean));
  const tier = arms.filter((a) => a.trueMean >= best - IDENTIFICATION_TOLERANCE);
  const active = tier.filter((a) => a.status === 'active').sort((a, b) => b.stats.n - a.stats.n)[0];
  if (!active) return 'retired';
  if (active.stats.n < R) return 'never_ranked';
  if (active.stats.n < STARVED_BELOW) return 'starved';
  return best - championTrueMean < NEAR_TIE ? 'near_tie' : 'lost_with_data';
}

export interface DiagnosisRow {
  setting: string;
  runs: number;
  identified: number;
  causes: Record<FailureCause, number>;
  /** Online rewards of the programs within the tolerance of the best, as a share of all online rewards. */
  bestTierRewardShare: number;
  /** Bandit-chosen rollouts after the pool was final that went to a program more than 0.05 below the best. */
  clearlyWorseShareAfterFinal: number;
  valRolloutsMean: number;
  retiredMean: number;
  poolFinalAtMean: number;
}

/** Runs miprox over the replicates of each setting and tallies the causes. */
export function diagnose(base: SimConfig, configIndex: number, moduleChoice: ModuleChoice, replicates: number, offset: number): DiagnosisRow[] {
  const { cfg }: PipelineConfig = pipelineConfigs(base)[configIndex]!;
  const R = cfg.rolloutsPerCandidate;
  return PIPELINE_SETTINGS.filter((s) => !s.isNull).map((setting) => {
    const row: DiagnosisRow = {
      setting: setting.name, runs: replicates, identified: 0,
      causes: { retired: 0, never_ranked: 0, starved: 0, near_tie: 0, lost_with_data: 0 },
      bestTierRewardShare: 0, clearlyWorseShareAfterFinal: 0, valRolloutsMean: 0, retiredMean: 0, poolFinalAtMean: 0,
    };
    let afterFinal = 0;
    let clearlyWorse = 0;
    for (let i = 0; i < replicates; i++) {
      let final: readonly SimArm[] = [];
      let finalAt: number | null = null;
      const watch = (p: Policy): Policy => ({
        ...p,
        select(arms, step) {
          const id = p.select(arms, step);
          if (arms.length >= cfg.maxCandidates) {
            finalAt ??= step;
            afterFinal += 1;
            const best = Math.max(...arms.map((a) => a.trueMean));
            if (arms.find((a) => a.id === id)!.trueMean < best - 0.05) clearlyWorse += 1;
          }
          return id;
        },
        report(arms) {
          final = arms;
          return p.report(arms);
        },
      });
      const r = runWorld(cfg, (s) => programWorld(cfg, setting, moduleChoice, s), (rng) => watch(miproxPolicy(R, rng, { maxCandidates: cfg.maxCandidates })), offset + i);
      const best = Math.max(...final.map((a) => a.trueMean));
      const total = final.reduce((s, a) => s + a.stats.n, 0);
      row.bestTierRewardShare += final.filter((a) => a.trueMean >= best - IDENTIFICATION_TOLERANCE).reduce((s, a) => s + a.stats.n, 0) / total / replicates;
      row.valRolloutsMean += r.valRollouts / replicates;
      row.retiredMean += r.retired / replicates;
      row.poolFinalAtMean += (finalAt ?? cfg.budget) / replicates;
      if (r.identified) row.identified += 1;
      else row.causes[failureCause(final, r.championTrueMean, R)] += 1;
    }
    row.clearlyWorseShareAfterFinal = clearlyWorse / Math.max(1, afterFinal);
    return row;
  });
}

export function diagnosisTable(rows: readonly DiagnosisRow[]): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const head = '| setting | identified | retired | never ranked | starved (<100 rewards) | near tie (<0.02) | lost with data | best-tier share of online rewards | after pool final: to programs >0.05 below best | val rollouts | retired programs | pool final at |';
  const lines = rows.map((r) =>
    `| ${r.setting} | ${pct(r.identified / r.runs)} | ${r.causes.retired} | ${r.causes.never_ranked} | ${r.causes.starved} | ${r.causes.near_tie} | ${r.causes.lost_with_data} | ${pct(r.bestTierRewardShare)} | ${pct(r.clearlyWorseShareAfterFinal)} | ${r.valRolloutsMean.toFixed(0)} | ${r.retiredMean.toFixed(2)} | ${r.poolFinalAtMean.toFixed(0)} |`);
  return [head, `|---|${'---:|'.repeat(11)}`, ...lines].join('\n');
}
