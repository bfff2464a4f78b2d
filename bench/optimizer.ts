/**
 * Optimizer quality benchmark (`npm run bench:optimizer`): simulated jobs comparing miprox's
 * selection + retirement + champion + val confirmation against round-robin, UCB1 and plain
 * Thompson sampling. Prints a markdown table and writes docs/optimizer-benchmark.md.
 *
 *   npx tsx bench/optimizer.ts [--replicates 300] [--out docs/optimizer-benchmark.md] [--no-write]
 */
import { writeFileSync } from 'node:fs';
import { summarize } from './sim/aggregate.js';
import { IDENTIFICATION_TOLERANCE, runReplicate } from './sim/engine.js';
import { miproxPolicy, oracleTopTwoPolicy, roundRobinPolicy, thompsonPolicy, ucb1Policy } from './sim/policies.js';
import { percentRange, resultsTable, setupSection, verdicts, type Cell } from './sim/report.js';
import type { Policy, Setting, SimConfig } from './sim/types.js';
import type { Rng } from '../src/shared/rng.js';

const CONFIG: SimConfig = {
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

const SETTINGS: Setting[] = [
  { name: 'null', childMu: null, childSigma: 0 },
  { name: 'worse children (mu -0.3)', childMu: -0.3, childSigma: 0.4 },
  { name: 'neutral children (mu 0)', childMu: 0, childSigma: 0.4 },
  { name: 'better children (mu +0.3)', childMu: 0.3, childSigma: 0.4 },
];

const SENSITIVITY_BUDGET = 5000;
const R = CONFIG.rolloutsPerCandidate;
const POLICIES: { name: string; make: (rng: Rng) => Policy }[] = [
  { name: 'round-robin', make: () => roundRobinPolicy(R) },
  { name: 'UCB1', make: () => ucb1Policy(R) },
  { name: 'Thompson', make: (rng) => thompsonPolicy(R, rng) },
  { name: 'miprox', make: (rng) => miproxPolicy(R, rng) },
  { name: 'oracle top-2 (reference)', make: () => oracleTopTwoPolicy() },
];

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const replicates = Number(argValue('--replicates') ?? 300);
  const out = argValue('--out') ?? 'docs/optimizer-benchmark.md';
  const started = Date.now();
  const cells: Cell[] = [];
  for (const setting of SETTINGS) {
    for (const policy of POLICIES) {
      const t0 = Date.now();
      const results = Array.from({ length: replicates }, (_, i) => runReplicate(CONFIG, setting, policy.make, i));
      cells.push({ setting, policy: policy.name, summary: summarize(results, CONFIG.budget) });
      process.stderr.write(`${setting.name} / ${policy.name}: ${Date.now() - t0} ms\n`);
    }
  }
  // Sensitivity: the same neutral world with a larger budget, to show identification is budget-bound.
  const longer = { ...CONFIG, budget: SENSITIVITY_BUDGET };
  const sensitivity: Cell[] = [];
  const neutral = SETTINGS[2]!;
  for (const policy of POLICIES.filter((p) => p.name !== 'round-robin')) {
    const results = Array.from({ length: replicates }, (_, i) => runReplicate(longer, neutral, policy.make, i));
    sensitivity.push({ setting: { ...neutral, name: `${neutral.name}, ${SENSITIVITY_BUDGET} rollouts` }, policy: policy.name, summary: summarize(results, longer.budget) });
  }
  process.stderr.write(`sensitivity: done\n`);
  const seconds = (Date.now() - started) / 1000;
  const table = resultsTable(cells);
  const sensitivityTable = resultsTable(sensitivity);
  const checks = verdicts(cells, 'miprox');
  const verdictText = checks.map((v) => `- ${v.met ? 'met' : '**missed**'}: ${v.line}`).join('\n');
  console.log(table);
  console.log(`\n${sensitivityTable}`);
  console.log(`\n${verdictText}\n\n${replicates} replicates per setting, ${seconds.toFixed(1)} s`);
  if (!process.argv.includes('--no-write')) {
    writeFileSync(out, document(cells, table, sensitivityTable, verdictText, replicates, seconds));
    process.stderr.write(`wrote ${out}\n`);
  }
}

function document(cells: readonly Cell[], table: string, sensitivityTable: string, verdictText: string, replicates: number, seconds: number): string {
  const naive = (c: Cell): boolean => ['round-robin', 'UCB1', 'Thompson'].includes(c.policy);
  const isNull = (c: Cell): boolean => c.setting.childMu === null;
  const ranges = {
    oracle: percentRange(cells, (c) => c.policy.startsWith('oracle') && !isNull(c), (s) => s.identification),
    miproxId: percentRange(cells, (c) => c.policy === 'miprox' && !isNull(c), (s) => s.identification),
    thompsonId: percentRange(cells, (c) => c.policy === 'Thompson' && !isNull(c), (s) => s.identification),
    naiveCoverage: percentRange(cells, naive, (s) => s.coverage),
    naiveFalse: percentRange(cells, (c) => naive(c) && isNull(c), (s) => s.falseImprovement),
    miproxCoverage: percentRange(cells, (c) => c.policy === 'miprox', (s) => s.coverage),
    miproxFalse: percentRange(cells, (c) => c.policy === 'miprox' && isNull(c), (s) => s.falseImprovement),
    valShare: percentRange(cells, (c) => c.policy === 'miprox' && !isNull(c), (s) => s.valShare),
  };
  return `# Optimizer benchmark

Generated by \`npm run bench:optimizer\` (bench/optimizer.ts, simulator in bench/sim/), ${replicates} replicates per
setting, ${seconds.toFixed(0)} s wall time. The simulation is seeded: the same command prints the same table.

## Setup
${setupSection(CONFIG, SETTINGS, replicates)}

Policies (all share the bootstrap, the proposal process and the budget):
- **round-robin**: the existing candidates in turn. **UCB1**: unrewarded candidates first, then mean + sqrt(2 ln N / n).
  **Thompson**: a Beta(1 + successes, 1 + failures) draw per rollout.
  These three report like a naive dashboard: the highest raw mean among candidates with n >= R, a fixed-n
  Wald interval on its online rewards, and an unpaired Wald test against the control.
- **miprox**: \`selectCandidate\` (stints of R, nursery, Thompson, control floor 5%, in-flight cap),
  \`candidatesToRetire\` (anytime-valid confidence sequences, delta 0.05 spent as delta/(k(k+1))),
  \`pickChampion\` (shrunken posterior mean), the seed scheduler's val confirmation of champion, control and
  runner-up, \`bestScore\` (val mean with a Wilson interval, else the online confidence sequence) and
  \`liftOverControl\` (paired on val seeds).
- **oracle top-2 (reference)**: not runnable in practice. It knows the true means, splits all online traffic
  between the two truly best candidates and names the one with the higher observed mean. Its identification
  rate is a practical ceiling for this budget and these gaps.

## Results
${table}

## Targets (miprox)
${verdictText}

## Same neutral world, larger budget
How identification grows with the budget (everything else as above):

${sensitivityTable}

## Definitions
- **Cumulative regret**: sum over all rollouts (bootstrap, online and val) of (best true mean among the
  candidates existing at that moment) minus (true mean of the candidate served), in expected successes.
- **Identified**: the final champion's true mean is within ${IDENTIFICATION_TOLERANCE} of the best true mean among all
  candidates of the run (so when several candidates are within ${IDENTIFICATION_TOLERANCE} of the best, any of them counts). The
  ±0.02 column uses 0.02. **Simple regret**: best true mean minus the champion's true mean.
- **Interval coverage**: share of runs whose reported best_score interval contains the champion's true mean
  (the population mean over seeds, not the mean over the val seeds).
- **Significant lift**: the reported lift over the control has a lower bound above 0. **False improvement**:
  a significant lift while the champion is not truly better than the control; in the null setting every
  candidate equals the baseline, so every significant lift is false.
- **Val share**: share of the budget spent on val confirmation rollouts. **Retired**: candidates retired per run.

## Reading the results
- Regret: the targets compare miprox with round-robin and UCB1 (see above). miprox sits above plain Thompson
  sampling: val confirmation (${ranges.valShare} of the budget, the control's val rollouts included) and the
  control floor are the price of an honest best_score and lift.
- Identification at ${CONFIG.budget} rollouts: miprox ${ranges.miproxId}, plain Thompson ${ranges.thompsonId}, the oracle
  ${ranges.oracle}. It is limited by the gaps: with ${CONFIG.maxCandidates} candidates whose quality varies by sigma 0.4
  logits, the best and second-best true means are typically 0.03 apart and within 0.02 in about a third of
  runs, and telling 0.015 apart needs thousands of rollouts per candidate (about 5,000 each for a one-sided
  95% test at even odds). The oracle, which puts all online traffic on the true top two, is the practical
  ceiling. miprox trails plain Thompson slightly because its val rollouts are not used to choose the champion
  (they stay held out for reporting). The larger-budget table shows how identification grows with rollouts.
- The naive policies' intervals and lifts show the winner's curse: reporting the raw maximum with a fixed-n
  interval overstates the champion (coverage ${ranges.naiveCoverage}), and in the null setting ${ranges.naiveFalse} of their
  runs report a "significant" lift that does not exist. miprox's intervals cover in ${ranges.miproxCoverage} of runs
  and its false-improvement rate in the null setting is ${ranges.miproxFalse}.

## What was tried to raise identification (development runs, 200 replicates, +-3 points of noise)
- Shrinkage strength of the champion's prior (2, 20, 50, 100 rewards): differences within noise; 50 was kept
  because it also stops a candidate with R lucky rewards from taking the title (unit test).
- Top-two Thompson sampling (serving the runner-up of a second draw with probability 0.25 or 0.5): no gain
  beyond noise, 4-11 more regret. Not kept.
- Ranking the champion on online plus val rewards: 0-4 points more, but val is then no longer held out;
  coverage fell to 90.5% and false improvements rose to 4% in the null setting. Not kept.
- A probabilistic control floor (5% of fresh draws whatever the control's share): about 17 more regret when
  children improve; replaced by a floor on the control's share of dispatches (val and bootstrap included).
`;
}

main();
