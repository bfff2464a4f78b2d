import { describe, expect, it } from 'vitest';
import { createBankingTask, normalizeLabel } from '../../../src/providers/sim/bankingTask.js';
import { containsWord } from '../../../src/providers/sim/textMatch.js';
import { instructionFeatures } from '../../../src/providers/sim/instructionFeatures.js';
import { createPolicySimulator } from '../../../src/providers/sim/policySimulator.js';
import { expectedAccuracy } from '../../../src/providers/sim/policyModel.js';
import { accuracy, answer, FORMAT_RULE, fullInstruction, labelList, pairRules, runRollouts } from './simHelpers.js';

const task = createBankingTask();
const base = task.baselineInstruction;
const withLabels = [base, labelList(task)].join('\n');
const withLabelsAndFormat = [base, labelList(task), FORMAT_RULE].join('\n');
const full = fullInstruction(task);
const expected = (instruction: string, temperature = 0): number => expectedAccuracy(instructionFeatures(instruction, task), task, temperature);

describe('policy simulator accuracy', () => {
  it('scores the baseline instruction in the 45-60% band', async () => {
    const acc = await accuracy(createPolicySimulator({ task }), task, base);
    expect(acc).toBeGreaterThanOrEqual(0.42);
    expect(acc).toBeLessThanOrEqual(0.62);
    expect(expected(base)).toBeGreaterThanOrEqual(0.45);
    expect(expected(base)).toBeLessThanOrEqual(0.6);
  });

  it('gets better with each feature: labels, then format, then rules for every confusable pair (90%+)', async () => {
    const policy = createPolicySimulator({ task });
    const ladder = [base, withLabels, withLabelsAndFormat, full];
    const accs: number[] = [];
    for (const instruction of ladder) accs.push(await accuracy(policy, task, instruction));
    for (let i = 1; i < accs.length; i++) expect(accs[i]).toBeGreaterThan((accs[i - 1] ?? 1) + 0.05);
    expect(accs[3]).toBeGreaterThanOrEqual(0.88);
    expect(expected(full)).toBeGreaterThanOrEqual(0.9);
  });

  it('averages to the documented expected accuracy', async () => {
    const policy = createPolicySimulator({ task });
    for (const instruction of [base, withLabelsAndFormat, full]) {
      const seeds = Array.from({ length: 3 * task.examples.length }, (_, i) => i);
      expect(Math.abs((await accuracy(policy, task, instruction, seeds)) - expected(instruction))).toBeLessThan(0.05);
    }
  });

  it('invents label names only when the labels are not listed', async () => {
    const invented = new Set(task.intents.map((l) => task.inventedLabel(l)));
    const count = async (instruction: string): Promise<number> =>
      (await runRollouts(createPolicySimulator({ task }), task, instruction, task.examples.map((e) => e.seed))).filter((r) =>
        [...invented].some((name) => containsWord(r.output, name)),
      ).length;
    expect(await count(base)).toBeGreaterThan(30);
    expect(await count(withLabels)).toBe(0);
  });

  it('wraps the label in a sentence without a format rule, almost never with one', async () => {
    const invented = new Set(task.intents.map((l) => task.inventedLabel(l)));
    const sentences = async (instruction: string): Promise<number> =>
      (await runRollouts(createPolicySimulator({ task }), task, instruction, task.examples.map((e) => e.seed))).filter((r) =>
        // Neither a label (however spaced) nor an invented name: the answer is a sentence.
        !task.intents.includes(normalizeLabel(r.output)) && !invented.has(normalizeLabel(r.output)),
      ).length;
    expect(await sentences(withLabels)).toBeGreaterThan(30);
    expect(await sentences(withLabelsAndFormat)).toBeLessThan(10);
  });

  it('a rule for lost vs stolen fixes that pair; the same rule with swapped cues makes it worse', async () => {
    const seeds = task.examples.filter((e) => e.label === 'card_lost' || e.label === 'card_stolen').map((e) => e.seed);
    const rule = pairRules(task)[0] ?? '';
    const inverted = 'Use card_lost when the customer mentions stolen, theft or robbed; use card_stolen when they mention lost or misplaced.';
    const accOn = async (extra: string): Promise<number> => {
      const policy = createPolicySimulator({ task });
      const instruction = [withLabelsAndFormat, extra].join('\n');
      const repeated = [...seeds, ...seeds, ...seeds, ...seeds];
      return accuracy(policy, task, instruction, repeated);
    };
    const none = await accOn('');
    expect(rule).toContain('card_stolen');
    expect(await accOn(rule)).toBeGreaterThan(none + 0.1);
    expect(await accOn(inverted)).toBeLessThan(none - 0.1);
  });

  it('long instructions and high temperature hurt a little; persona helps a tiny bit', () => {
    const padded = `${full}\n${'Be thorough and consider every detail of the message before you decide. '.repeat(20)}`;
    expect(padded.length).toBeGreaterThan(2500);
    expect(expected(padded)).toBeLessThan(expected(full));
    expect(expected(padded)).toBeGreaterThan(expected(full) - 0.1);
    expect(expected(full, 1)).toBeLessThan(expected(full, 0));
    const persona = `You are an experienced banking support agent.\n${withLabelsAndFormat}`;
    expect(expected(persona)).toBeGreaterThan(expected(withLabelsAndFormat));
    expect(expected(persona)).toBeLessThan(expected(withLabelsAndFormat) + 0.02);
  });
});

describe('policy simulator determinism', () => {
  const seeds = Array.from({ length: 60 }, (_, i) => i);

  it('replays exactly on a fresh provider', async () => {
    const a = await runRollouts(createPolicySimulator({ task }), task, base, seeds);
    const b = await runRollouts(createPolicySimulator({ task }), task, base, seeds);
    expect(b.map((r) => r.output)).toEqual(a.map((r) => r.output));
  });

  it('does not depend on the order in which different queries arrive', async () => {
    const forward = await runRollouts(createPolicySimulator({ task }), task, base, seeds);
    const backward = await runRollouts(createPolicySimulator({ task }), task, base, [...seeds].reverse());
    expect([...backward].reverse().map((r) => r.output)).toEqual(forward.map((r) => r.output));
  });

  it('varies across repeated identical calls, unless the request carries a seed', async () => {
    const policy = createPolicySimulator({ task });
    const query = task.examples.find((e) => e.label === 'card_stolen')?.text ?? '';
    const repeated = await Promise.all(Array.from({ length: 40 }, () => answer(policy, base, query)));
    expect(new Set(repeated).size).toBeGreaterThan(1);
    const seeded = await Promise.all(Array.from({ length: 10 }, () => answer(policy, base, query, 7)));
    expect(new Set(seeded).size).toBe(1);
  });

  it('answers a message that is not a task query by its nearest intent, or with a note', async () => {
    const policy = createPolicySimulator({ task });
    expect(await answer(policy, full, 'someone stole my wallet and my card last night', 1)).toBe('card_stolen');
    expect(await answer(policy, full, 'Tell me a joke', 1)).toMatch(/simulated banking intent classifier/);
  });
});
