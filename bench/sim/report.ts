import type { CellSummary } from './aggregate.js';
import type { Setting, SimConfig } from './types.js';

/** Markdown for the optimizer benchmark: the results table, the verdict on the targets, the setup. */

export interface Cell {
  setting: Setting;
  policy: string;
  summary: CellSummary;
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);

export function resultsTable(cells: readonly Cell[]): string {
  const head =
    '| setting | policy | cumulative regret (± s.e.) | identified (±0.01) | identified (±0.02) | simple regret | ' +
    'interval coverage | significant lift | false improvement | val share | retired |';
  const rule = '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = cells.map(({ setting, policy, summary: s }) =>
    [
      setting.name,
      policy,
      `${s.regretMean.toFixed(1)} ± ${s.regretSe.toFixed(1)}`,
      pct(s.identification),
      pct(s.identification02),
      s.simpleRegretMean.toFixed(4),
      pct(s.coverage),
      pct(s.significantLift),
      pct(s.falseImprovement),
      pct(s.valShare),
      s.retiredMean.toFixed(2),
    ].join(' | '),
  );
  return [head, rule, ...rows.map((r) => `| ${r} |`)].join('\n');
}

export interface Verdict {
  line: string;
  met: boolean;
}

export function verdicts(cells: readonly Cell[], policy: string): Verdict[] {
  const ours = cells.filter((c) => c.policy === policy);
  const find = (setting: string, name: string): CellSummary | undefined =>
    cells.find((c) => c.setting.name === setting && c.policy === name)?.summary;
  const out: Verdict[] = [];
  for (const { setting, summary: s } of ours) {
    if (setting.childMu === null) {
      out.push({ line: `${setting.name}: false improvements ${pct(s.falseImprovement)} (target <= 5%)`, met: s.falseImprovement <= 0.05 });
    } else {
      const rr = find(setting.name, 'round-robin');
      const ucb = find(setting.name, 'UCB1');
      const below = !!rr && !!ucb && s.regretMean < rr.regretMean && s.regretMean < ucb.regretMean;
      out.push({
        line: `${setting.name}: regret ${s.regretMean.toFixed(1)} vs round-robin ${rr?.regretMean.toFixed(1)} and UCB1 ${ucb?.regretMean.toFixed(1)} (target: below both)`,
        met: below,
      });
      out.push({ line: `${setting.name}: identification ${pct(s.identification)} (target >= 90%)`, met: s.identification >= 0.9 });
    }
    out.push({ line: `${setting.name}: coverage ${pct(s.coverage)} (target >= 90%)`, met: (s.coverage ?? 0) >= 0.9 });
  }
  return out;
}

export function setupSection(cfg: SimConfig, settings: readonly Setting[], replicates: number): string {
  const mus = settings.map((s) => (s.childMu === null ? `${s.name}: child = parent` : `${s.name}: sigma ${s.childSigma}`));
  return [
    `- Task: P(success | candidate c, seed s) = sigmoid(theta_c - b_s), difficulty b_s ~ N(0, 1) per seed; the baseline's theta ~ N(${cfg.baselineTheta.mean}, ${cfg.baselineTheta.sd}) per replicate. A candidate's true mean is E_b[sigmoid(theta - b)] over the seed population (quadrature).`,
    `- Seeds: ${cfg.seeds.bootstrap} bootstrap (run first, on the baseline), an online pool of ${cfg.seeds.online} cycled, ${cfg.seeds.val} held-out val seeds.`,
    `- Budget: the same number of rollouts per replicate for every policy (bootstrap and val rollouts included), ${replicates} replicates per setting and budget, same worlds for every policy (common random numbers).`,
    `- Rewards arrive 1-${cfg.maxDelay} rollouts after dispatch (uniform); ${Math.round(cfg.missingRate * 100)}% never arrive and stop counting as in flight after ${cfg.rewardTtl} rollouts.`,
    `- Proposals: every ${cfg.proposerMinRollouts} online rewards (\`online_proposer_min_rollouts\`), ${cfg.instructionsPerBatch} children each, until ${cfg.maxCandidates} candidates, once the last children have R/2 rewards (the runner's \`childrenBeingMeasured\`; not the oracle); children exist ${cfg.proposalLag} rollouts after the proposal starts; the parent is \`chooseParent\` (Thompson draw among candidates with n >= R) for every policy. Child theta = parent theta + N(mu, sigma). Settings: ${mus.join('; ')}.`,
    `- R (\`online_rollouts_per_candidate\`) = ${cfg.rolloutsPerCandidate}; miprox confirms on val one rollout in ${cfg.valEvery} while confirmation is pending.`,
  ].join('\n');
}

/** "lo-hi%" of a metric over the cells that match, for prose that must not go stale. */
export function percentRange(
  cells: readonly Cell[],
  match: (c: Cell) => boolean,
  metric: (s: CellSummary) => number | null,
  digits = 0,
): string {
  const values = cells.filter(match).map((c) => metric(c.summary)).filter((v): v is number => v !== null);
  if (values.length === 0) return 'n/a';
  const lo = (Math.min(...values) * 100).toFixed(digits);
  const hi = (Math.max(...values) * 100).toFixed(digits);
  return lo === hi ? `${lo}%` : `${lo}-${hi}%`;
}

/**
 * Identification (±0.01) by budget: one row per budget, one column per policy, the non-null settings
 * as "a / b / c%" in the order given. The curve the targets are read from.
 */
export function identificationByBudget(
  byBudget: readonly { budget: number; cells: readonly Cell[] }[],
  policies: readonly string[],
  settings: readonly Setting[],
): string {
  const compared = settings.filter((s) => s.childMu !== null);
  const head = `| rollouts | ${policies.join(' | ')} |`;
  const rule = `|---|${policies.map(() => '---:').join('|')}|`;
  const rows = byBudget.map(({ budget, cells }) => {
    const column = (policy: string): string =>
      compared
        .map((s) => cells.find((c) => c.policy === policy && c.setting.name === s.name)?.summary.identification)
        .map((x) => (x === undefined ? 'n/a' : (100 * x).toFixed(1)))
        .join(' / ') + '%';
    return `| ${budget.toLocaleString('en-US')} | ${policies.map(column).join(' | ')} |`;
  });
  return [`Identification (±0.01) with ${compared.map((s) => s.name).join(' / ')}:`, '', head, rule, ...rows].join('\n');
}
