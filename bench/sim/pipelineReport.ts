import type { CellSummary } from './aggregate.js';
import { TUNING_OFFSET } from './pipeline.js';
import { CHILD_MIXTURE, BASELINE_JITTER, MODULES, type ProgramSetting } from './program.js';
import type { SimConfig } from './types.js';
import { spliceMarked } from './docSections.js';

/** Markdown for the "pipeline-3" table: results per configuration, the targets, the setup. */

export interface PipelineCell {
  setting: ProgramSetting;
  policy: string;
  summary: CellSummary;
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);

export function pipelineTable(cells: readonly PipelineCell[]): string {
  const head =
    `| setting | policy | simple regret | identified (±0.01) | champion true mean | interval coverage | ` +
    `significant lift | false improvement | proposals ${MODULES.join(' / ')} | cumulative regret |`;
  const rule = '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = cells.map(({ setting, policy, summary: s }) =>
    [
      setting.name,
      policy,
      s.simpleRegretMean.toFixed(4),
      pct(s.identification),
      s.championMean.toFixed(3),
      pct(s.coverage),
      pct(s.significantLift),
      pct(s.falseImprovement),
      s.moduleShares ? s.moduleShares.map((x) => (100 * x).toFixed(0)).join(' / ') + '%' : 'n/a',
      s.regretMean.toFixed(1),
    ].join(' | '),
  );
  return [head, rule, ...rows.map((r) => `| ${r} |`)].join('\n');
}

export interface PipelineVerdict {
  line: string;
  met: boolean;
}

/** The issue's targets for one policy: regret in (a) and (b), identification, bottleneck share, coverage, null. */
export function pipelineVerdicts(cells: readonly PipelineCell[], policy: string): PipelineVerdict[] {
  const out: PipelineVerdict[] = [];
  for (const { setting, summary: s } of cells.filter((c) => c.policy === policy)) {
    if (setting.isNull) {
      out.push({ line: `${setting.name}: false improvements ${pct(s.falseImprovement)} (target <= 5%)`, met: s.falseImprovement <= 0.05 });
    } else {
      if (setting.kind === 'product') {
        out.push({ line: `${setting.name}: simple regret ${s.simpleRegretMean.toFixed(4)} (target <= 0.01)`, met: s.simpleRegretMean <= 0.01 });
      }
      out.push({ line: `${setting.name}: identification ${pct(s.identification)} (target >= 85%)`, met: s.identification >= 0.85 });
      if (setting.bottleneck !== null) {
        const share = s.moduleShares?.[setting.bottleneck] ?? 0;
        out.push({ line: `${setting.name}: proposals to the bottleneck module ${pct(share)} (target >= 60%)`, met: share >= 0.6 });
      }
    }
    out.push({ line: `${setting.name}: coverage ${pct(s.coverage)} (target >= 90%)`, met: (s.coverage ?? 0) >= 0.9 });
  }
  return out;
}

export function verdictLines(cells: readonly PipelineCell[], policy: string): string {
  const checks = pipelineVerdicts(cells, policy);
  const met = checks.filter((v) => v.met).length;
  return [`**${policy}: ${met} of ${checks.length} targets met.**`, ...checks.map((v) => `- ${v.met ? 'PASS' : '**MISS**'}: ${v.line}`)].join('\n');
}

export function pipelineSetup(configs: readonly { name: string; cfg: SimConfig }[], settings: readonly ProgramSetting[]): string {
  const { small, regression, largeWin } = CHILD_MIXTURE;
  const setting = (s: ProgramSetting): string =>
    `${s.name}: ${s.kind}, baseline logits ${s.baseLogits.join(' / ')}${s.isNull ? ', every child equal to its parent' : ''}`;
  const cfg = configs[0]!.cfg;
  return [
    `- Program: modules ${MODULES.join(', ')} (call order), quality q_m = sigmoid(logit_m) per module. One binary reward per rollout, success with probability q_1 q_2 q_3, except (c): q_1 q_2 q_3^(1 + 2 (1 - q_1)) (the last module degrades when the first is weak), and (d): q_1 q_2^k q_3 with k, the number of calls of module 2, uniform on 0-3 and fixed per seed. A program's true mean is the population mean (in (d) averaged over k).`,
    `- Baselines: per replicate, each module's logit is the setting's value plus N(0, ${BASELINE_JITTER}). Settings: ${settings.map(setting).join('; ')}. Logit 3.5 is q of about 0.97, 1.4 about 0.80, 0 is 0.5.`,
    `- Children: a proposal picks the module with \`chooseModule\` (miprox: \`credit\` or \`round_robin\`; the references: \`round_robin\`), and each child moves that module's logit only: with probability ${small.p} a small edit N(0, ${small.sd}), ${regression.p} a regression of -U(${regression.min}, ${regression.max}), ${largeWin.p} a large win of +U(${largeWin.min}, ${largeWin.max}). The k-th child of a replicate draws the same move in every policy's run (common random numbers); which module it lands on depends on the module choice. The parent is \`chooseParent\`.`,
    `- Rewards arrive 1-${cfg.maxDelay} rollouts after dispatch; ${Math.round(cfg.missingRate * 100)}% never arrive. Seeds: ${cfg.seeds.bootstrap} bootstrap, an online pool of ${cfg.seeds.online}, ${cfg.seeds.val} val. ${cfg.budget.toLocaleString('en-US')} rollouts per run.`,
    `- Configurations: ${configs.map((c) => `**${c.name}**`).join(' and ')}; both propose ${cfg.instructionsPerBatch} children per proposal, ${cfg.proposalLag} rollouts of proposer latency, and a proposal also waits until the last children have R rewards (the runner's \`childrenBeingMeasured\` for a program of several modules; not the oracle, which never measures them). The targets are read on the first (the seed request's settings); the second is the single-prompt benchmark's CONFIG, for comparison.`,
    `- Policies: **miprox** (selection, retirement, champion, val confirmation and best_score exactly as in the single-prompt tables, over whole programs) with \`credit\` and with \`round_robin\` module choice; **Thompson** over whole programs (naive reporting as above) and the **oracle top-2** (knows true means, reports no interval), both proposing round-robin so only selection differs.`,
    `- Columns: simple regret and identification are against the best program of the run's own pool (so module choice shows in **champion true mean**, the absolute quality delivered); proposals per module are the mean per-run shares.`,
  ].join('\n');
}

const START = '<!-- pipeline-3:start -->';
const END = '<!-- pipeline-3:end -->';

export interface PipelineResults {
  configs: readonly { name: string; cfg: SimConfig }[];
  settings: readonly ProgramSetting[];
  /** Cells per configuration, in the order of `configs`. */
  cells: readonly (readonly PipelineCell[])[];
  policies: readonly string[];
  replicates: number;
  seconds: number;
}

/** The "pipeline-3" section of docs/optimizer-benchmark.md, between markers so it can be rewritten alone. */
/** `routing`: the markdown of the routing measurement through the real proxy (bench/lib/programRouting.ts). */
export function pipelineSection(r: PipelineResults, notes: string, routing: string): string {
  const miprox = r.policies.filter((p) => p.startsWith('miprox'));
  const perConfig = r.configs.map((c, i) =>
    [`### ${c.name}`, pipelineTable(r.cells[i]!), '', ...miprox.map((p) => verdictLines(r.cells[i]!, p) + '\n')].join('\n'));
  return `${START}
## pipeline-3: a 3-module program

Generated by \`npx tsx bench/optimizer.ts --only pipeline\` (also part of \`npm run bench:optimizer\`; bench/sim/program.ts,
bench/sim/pipeline.ts), ${r.replicates} replicates per cell on replicate seeds 0-${r.replicates - 1}, ${r.seconds.toFixed(0)} s wall time.
Anything tuned was tuned on replicate seeds ${TUNING_OFFSET.toLocaleString('en-US')} and up (\`--tuning\`), never on the reported ones.

${pipelineSetup(r.configs, r.settings)}

Targets (issue 11): simple regret <= 0.01 in (a) and (b); identification (±0.01) >= 85%; in (a) >= 60% of
proposals to the bottleneck module; best_score interval coverage >= 90%; null false improvements <= 5%.
The other two, calls reaching the upstream with their own module's prompt (100%) and unmatched calls
passing byte-identical, are properties of the proxy, not of the simulator: they are measured through the
real proxy at the end of the tables ("Routing through the real proxy").

${perConfig.join('\n')}
${routing}
${notes}
${END}
`;
}

/** Replaces the section in an existing document, or appends it. */
export function spliceSection(doc: string, section: string): string {
  return spliceMarked(doc, START, END, section);
}
