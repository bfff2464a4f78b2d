import { describe, expect, it } from 'vitest';
import { buildDatasetSummaryPrompt, buildProposerPrompt, type ObservedRollout } from '../../../src/optimizer/core/proposerPrompt.js';
import { TIP_IDS, type TipId } from '../../../src/optimizer/core/tips.js';
import { createBankingTask } from '../../../src/providers/sim/bankingTask.js';
import { instructionFeatures } from '../../../src/providers/sim/instructionFeatures.js';
import { expectedAccuracy } from '../../../src/providers/sim/policyModel.js';
import { createProposerSimulator } from '../../../src/providers/sim/proposerSimulator.js';
import { readProposerPrompt } from '../../../src/providers/sim/proposerPromptReader.js';
import type { ChatProvider } from '../../../src/providers/types.js';
import { FORMAT_RULE, labelList } from './simHelpers.js';

const task = createBankingTask();
const seedOf = (label: string, nth = 0): number => task.examples.filter((e) => e.label === label)[nth]?.seed ?? -1;
const rollout = (seed: number, output: string): ObservedRollout => ({
  input: [{ role: 'user', content: task.userMessage(seed) }],
  output,
  reward: task.score(seed, output),
});

function prompt(opts: { parent?: string; worst?: ObservedRollout[]; best?: ObservedRollout[]; tip?: TipId; n?: number } = {}) {
  return buildProposerPrompt({
    datasetSummary: null,
    programDescription: task.baselineInstruction,
    parent: { instruction: opts.parent ?? task.baselineInstruction, n: 20, mean: 0.5, ci: [0.3, 0.7] },
    worstRollouts: opts.worst ?? [],
    bestRollouts: opts.best ?? [],
    history: [],
    tip: opts.tip ?? 'none',
    instructionsPerBatch: opts.n ?? 2,
  });
}

async function propose(provider: ChatProvider, messages: Array<{ role: string; content: string }>, seed?: number): Promise<string[]> {
  const res = await provider.complete({ model: 'sim-proposer', messages, ...(seed === undefined ? {} : { seed }) });
  expect(res.json.model).toBe('sim-proposer (simulator)');
  const parsed: unknown = JSON.parse(res.json.choices[0]?.message.content ?? '');
  expect(parsed).toMatchObject({ instructions: expect.any(Array) });
  return (parsed as { instructions: string[] }).instructions;
}

const parentWithListAndFormat = [task.baselineInstruction, labelList(task), FORMAT_RULE].join('\n');
const lostStolenFailure = rollout(seedOf('card_stolen', 3), 'card_lost');

describe('reading the proposer prompt', () => {
  it('finds the parent, the rollouts with outputs and rewards, the tip and N in the real prompt layout', () => {
    const worst = [lostStolenFailure, rollout(seedOf('change_pin'), 'The intent is change_pin.')];
    const best = [rollout(seedOf('apple_pay'), 'apple_pay')];
    for (const tip of TIP_IDS) {
      const text = prompt({ parent: parentWithListAndFormat, worst, best, tip, n: 3 }).map((m) => m.content).join('\n\n');
      const reading = readProposerPrompt(text, task);
      expect(reading.parentInstruction).toBe(parentWithListAndFormat);
      expect(reading.parentFound).toBe(true);
      expect(reading.tip).toBe(tip);
      expect(reading.requestedCount).toBe(3);
      expect(reading.charLimit).toBe(4000);
      expect(reading.rollouts.map((r) => [r.example.label, r.output, r.reward])).toEqual([
        ['card_stolen', 'card_lost', 0],
        ['change_pin', 'The intent is change_pin.', 0],
        ['apple_pay', 'apple_pay', 1],
      ]);
    }
  });

  it('copes with other layouts: tags, one-line rollouts with rewards after, JSON records', () => {
    const q1 = task.userMessage(seedOf('card_lost'));
    const q2 = task.userMessage(seedOf('transfer_pending'));
    const tagged = [
      '<parent_instruction>Sort the message into a banking intent.</parent_instruction>',
      'Observations:',
      `- input: ${q1} | output: card_stolen | reward: 0`,
      `- input: ${q2} | output: transfer_pending | reward: 1`,
      'Tip: keep it concise. Write 4 new instructions.',
    ].join('\n');
    const a = readProposerPrompt(tagged, task);
    expect(a.parentInstruction).toBe('Sort the message into a banking intent.');
    expect(a.tip).toBe('simple');
    expect(a.requestedCount).toBe(4);
    expect(a.rollouts.map((r) => [r.example.label, r.output, r.reward])).toEqual([
      ['card_lost', 'card_stolen', 0],
      ['transfer_pending', 'transfer_pending', 1],
    ]);

    const json = JSON.stringify({
      current_instruction: 'Label the query.',
      rollouts: [{ input: q1, output: 'lost_card', reward: 0 }],
    });
    const b = readProposerPrompt(json, task);
    expect(b.parentInstruction).toBe('Label the query.');
    expect(b.rollouts.map((r) => [r.output, r.reward])).toEqual([['lost_card', 0]]);
    expect(b.requestedCount).toBe(2);
  });

  it('takes a short instruction from miprox\'s own prompt (a module whose prompt is one word)', () => {
    const text = prompt({ parent: 'Extract.' }).map((m) => m.content).join('\n');
    const reading = readProposerPrompt(text, task);
    expect(reading.parentFound).toBe(true);
    expect(reading.parentInstruction).toBe('Extract.');
  });

  it('takes the current instruction, not the original one or those in the history', () => {
    const older = [task.baselineInstruction, labelList(task)].join('\n');
    const messages = buildProposerPrompt({
      datasetSummary: 'The inputs are short messages from bank customers about cards and transfers.',
      programDescription: task.baselineInstruction,
      parent: { instruction: parentWithListAndFormat, n: 20, mean: 0.8, ci: [0.6, 0.9] },
      worstRollouts: [lostStolenFailure],
      bestRollouts: [],
      history: [
        { instruction: older, status: 'active', n: 30, mean: 0.66, ci: [0.5, 0.8] },
        { instruction: `${older}\nBriefly explain your reasoning, then give the label.`, status: 'retired', n: 30, mean: 0.3, ci: [0.2, 0.45] },
      ],
      tip: 'simple',
      instructionsPerBatch: 2,
    });
    const reading = readProposerPrompt(messages.map((m) => m.content).join('\n\n'), task);
    expect(reading.parentInstruction).toBe(parentWithListAndFormat);
    expect(reading.rollouts).toHaveLength(1);
    expect(reading.tip).toBe('simple');
  });

  it('falls back to the baseline when no instruction is labelled', () => {
    const reading = readProposerPrompt('Please improve this prompt for me.', task);
    expect(reading.parentFound).toBe(false);
    expect(reading.parentInstruction).toBe(task.baselineInstruction);
    expect(reading.rollouts).toEqual([]);
  });
});

describe('proposer simulator', () => {
  it('turns a shown card_lost/card_stolen failure into a rule for that pair', async () => {
    const proposer = createProposerSimulator({ task });
    const children = await propose(proposer, prompt({ parent: parentWithListAndFormat, worst: [lostStolenFailure], n: 3 }));
    const strengths = children.map(
      (c) => instructionFeatures(c, task).pairRules.find((r) => r.labels.includes('card_lost'))?.strength,
    );
    expect(strengths).toContain('full');
    // Only the pair it saw fail: nothing told it about transfers.
    for (const child of children) {
      expect(instructionFeatures(child, task).pairRules.find((r) => r.labels.includes('transfer_failed'))?.strength).toBe('none');
    }
  });

  it('adds the label list after invented labels and the format rule after wrapped answers', async () => {
    const proposer = createProposerSimulator({ task, badEditRate: 0 });
    const worst = [
      rollout(seedOf('card_fees'), 'card_charges'),
      rollout(seedOf('change_pin'), 'This query is about change_pin.'),
      rollout(seedOf('close_account'), 'account_closure'),
    ];
    const children = await propose(proposer, prompt({ worst, n: 4 }));
    const features = children.map((c) => instructionFeatures(c, task));
    expect(features.filter((f) => f.labelCoverage === 1).length).toBeGreaterThanOrEqual(3);
    expect(features.filter((f) => f.format === 'strict').length).toBeGreaterThanOrEqual(3);
  });

  it('returns as many instructions as asked, all different from each other and from the parent', async () => {
    const proposer = createProposerSimulator({ task });
    for (const n of [1, 2, 3, 5]) {
      const children = await propose(proposer, prompt({ parent: parentWithListAndFormat, worst: [lostStolenFailure], n }));
      expect(children).toHaveLength(n);
      expect(new Set(children).size).toBe(n);
      expect(children).not.toContain(parentWithListAndFormat);
    }
  });

  it("keeps the parent's placeholders in every child, whatever line they are on (a child without one is refused)", async () => {
    const proposer = createProposerSimulator({ task });
    const parent = 'Plan the answer for {customer} from the retrieved notes.\nNotes:\n{kb}';
    let children: string[] = [];
    for (const tip of TIP_IDS) children = [...children, ...await propose(proposer, prompt({ parent, worst: [lostStolenFailure], tip, n: 3 }))];
    expect(children.length).toBe(3 * TIP_IDS.length);
    for (const child of children) {
      expect(child, child).toContain('{customer}');
      expect(child, child).toContain('{kb}');
    }
  });

  it('defaults to two instructions when the prompt does not say', async () => {
    const children = await propose(createProposerSimulator({ task }), [
      { role: 'user', content: `Current instruction:\n${task.baselineInstruction}\n\nMake it better. Answer as JSON.` },
    ]);
    expect(children).toHaveLength(2);
  });

  it('is deterministic given the prompt and the seed', async () => {
    const messages = prompt({ worst: [lostStolenFailure], tip: 'creative', n: 3 });
    const a = await propose(createProposerSimulator({ task }), messages, 5);
    const b = await propose(createProposerSimulator({ task }), messages, 5);
    expect(b).toEqual(a);
    // Without a seed: the first call on any fresh provider replays, later calls explore.
    const fresh1 = createProposerSimulator({ task });
    const fresh2 = createProposerSimulator({ task });
    expect(await propose(fresh2, messages)).toEqual(await propose(fresh1, messages));
    const later = await Promise.all([1, 2, 3, 4].map(() => propose(fresh1, messages)));
    expect(new Set(later.map((x) => JSON.stringify(x))).size).toBeGreaterThan(1);
  });

  it('follows the tip: persona opens with a role, simple does not grow the instruction', async () => {
    const proposer = createProposerSimulator({ task, badEditRate: 0 });
    const persona = await propose(proposer, prompt({ parent: parentWithListAndFormat, tip: 'persona', n: 3 }));
    expect(persona.filter((c) => /^You are /.test(c)).length).toBeGreaterThanOrEqual(2);
    const verbose = `You are a careful triage specialist at a retail bank.\n${parentWithListAndFormat}\nRouting matters: a misrouted ticket can leave a customer's money at risk, so be precise.`;
    const simple = await propose(proposer, prompt({ parent: verbose, tip: 'simple', n: 3 }));
    expect(simple.filter((c) => c.length < verbose.length).length).toBeGreaterThanOrEqual(2);
  });

  it('does not always improve: some children are worse than their parent', async () => {
    const proposer = createProposerSimulator({ task });
    const parent = parentWithListAndFormat;
    const parentScore = expectedAccuracy(instructionFeatures(parent, task), task);
    const scores: number[] = [];
    for (let seed = 0; seed < 30; seed++) {
      for (const child of await propose(proposer, prompt({ parent, worst: [lostStolenFailure], n: 2 }), seed)) {
        scores.push(expectedAccuracy(instructionFeatures(child, task), task));
      }
    }
    const worse = scores.filter((s) => s < parentScore - 0.01).length;
    const better = scores.filter((s) => s > parentScore + 0.01).length;
    expect(worse).toBeGreaterThan(0);
    expect(better).toBeGreaterThan(worse);
  });

  it('answers a dataset-summary request with a summary, not instructions', async () => {
    const proposer = createProposerSimulator({ task });
    const inputs = [1, 2, 3, 4].map((s) => [{ role: 'user', content: task.userMessage(s) }]);
    const res = await proposer.complete({ model: 'sim-proposer', messages: buildDatasetSummaryPrompt(inputs).map((m) => ({ ...m })) });
    const summary = res.json.choices[0]?.message.content ?? '';
    expect(summary).toMatch(/bank customers/);
    expect(summary).not.toMatch(/instructions/);
  });
});
