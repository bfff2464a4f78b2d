import { describe, expect, it } from 'vitest';
import { buildProposerPrompt, type ScoredInstruction } from '../../../src/optimizer/core/proposerPrompt.js';
import { parseProposals } from '../../../src/optimizer/core/proposalParser.js';
import { TIP_IDS } from '../../../src/optimizer/core/tips.js';
import { createSimProvider } from '../../../src/providers/sim/index.js';
import { createBankingTask } from '../../../src/providers/sim/bankingTask.js';
import { instructionFeatures } from '../../../src/providers/sim/instructionFeatures.js';
import { accuracy, range, runRollouts } from './simHelpers.js';

/**
 * The test that proves the demo can show real improvement: a plain propose-evaluate loop (no
 * bandit) where the proposer only ever sees the current best instruction, a few of its observed
 * rollouts and a tip, through the real proposer prompt and proposal parser.
 */
const task = createBankingTask();
const ROUNDS = 5;
const PER_ROUND = 3;

async function optimize(opts: { showRollouts: boolean }): Promise<{ baseline: number; best: number; bestInstruction: string; trace: number[] }> {
  const policy = createSimProvider({ provider: 'sim', model: 'sim-policy' }, { task });
  const proposer = createSimProvider({ provider: 'sim', model: 'sim-proposer' }, { task });
  const evalSeeds = task.examples.map((e) => e.seed);
  let bestInstruction = task.baselineInstruction;
  let best = await accuracy(policy, task, bestInstruction, evalSeeds);
  const baseline = best;
  const history: ScoredInstruction[] = [];
  const trace = [best];
  for (let round = 0; round < ROUNDS; round++) {
    // Online traffic for the current best: 40 fresh seeds, of which the proposer sees the 3 worst and 2 best.
    const observed = await runRollouts(policy, task, bestInstruction, range(1000 + round * 40, 40));
    const sorted = [...observed].sort((a, b) => a.reward - b.reward);
    const mean = observed.reduce((s, r) => s + r.reward, 0) / observed.length;
    const messages = buildProposerPrompt({
      datasetSummary: null,
      programDescription: task.baselineInstruction,
      parent: { instruction: bestInstruction, n: observed.length, mean, ci: [Math.max(0, mean - 0.15), Math.min(1, mean + 0.15)] },
      worstRollouts: opts.showRollouts ? sorted.slice(0, 3) : [],
      bestRollouts: opts.showRollouts ? sorted.slice(-2).reverse() : [],
      history,
      tip: TIP_IDS[round % TIP_IDS.length] ?? 'none',
      instructionsPerBatch: PER_ROUND,
    });
    const reply = await proposer.complete({ model: 'sim-proposer', messages: messages.map((m) => ({ ...m })) });
    const { accepted } = parseProposals(reply.json.choices[0]?.message.content ?? '', {
      baseline: task.baselineInstruction,
      existing: [task.baselineInstruction, ...history.map((h) => h.instruction)],
      n: PER_ROUND,
    });
    expect(accepted).toHaveLength(PER_ROUND);
    for (const child of accepted) {
      const score = await accuracy(policy, task, child, evalSeeds);
      history.push({ instruction: child, status: 'active', n: evalSeeds.length, mean: score, ci: [score - 0.05, score + 0.05] });
      if (score > best) {
        best = score;
        bestInstruction = child;
      }
    }
    trace.push(best);
  }
  return { baseline, best, bestInstruction, trace };
}

describe('optimization loop on the simulator', () => {
  it('improves accuracy substantially over the baseline in five rounds', async () => {
    const run = await optimize({ showRollouts: true });
    expect(run.baseline).toBeLessThan(0.62);
    expect(run.best).toBeGreaterThanOrEqual(run.baseline + 0.25);
    expect(run.best).toBeGreaterThanOrEqual(0.85);
    // The winner got there by saying what matters, not by luck.
    expect(run.bestInstruction).toMatch(/card_lost/);
    expect(run.bestInstruction).toMatch(/\bonly\b/);
  });

  it('replays the same run exactly', async () => {
    const a = await optimize({ showRollouts: true });
    const b = await optimize({ showRollouts: true });
    expect(b.trace).toEqual(a.trace);
    expect(b.bestInstruction).toBe(a.bestInstruction);
  });

  it('learns pair rules only from failures it was shown', async () => {
    const blind = await optimize({ showRollouts: false });
    const grounded = await optimize({ showRollouts: true });
    const rules = instructionFeatures(blind.bestInstruction, task).pairRules;
    expect(rules.every((r) => r.strength === 'none')).toBe(true);
    expect(grounded.best).toBeGreaterThan(blind.best + 0.03);
  });
});
