import { describe, expect, it } from 'vitest';
import { createBankingTask } from '../../../src/providers/sim/bankingTask.js';
import { instructionFeatures, splitClauses, type PairRuleStrength } from '../../../src/providers/sim/instructionFeatures.js';
import { FORMAT_RULE, fullInstruction, labelList } from './simHelpers.js';

const task = createBankingTask();
const strengthOf = (instruction: string, label: string): PairRuleStrength | undefined =>
  instructionFeatures(instruction, task).pairRules.find((r) => r.labels.includes(label))?.strength;

describe('instructionFeatures', () => {
  it('finds nothing useful in the baseline', () => {
    const f = instructionFeatures(task.baselineInstruction, task);
    expect(f.labelsListed).toEqual([]);
    expect(f.format).toBe('none');
    expect(f.asksForExplanation).toBe(false);
    expect(f.pairRules.every((r) => r.strength === 'none')).toBe(true);
    expect(f.persona || f.highStakes).toBe(false);
  });

  it('counts the labels listed verbatim, not words inside other labels', () => {
    expect(instructionFeatures(labelList(task), task).labelCoverage).toBe(1);
    const some = instructionFeatures('Labels: card_lost, apple_pay, close account.', task);
    expect(some.labelsListed).toEqual(['card_lost', 'apple_pay']);
    expect(instructionFeatures('A stolen card is card stolen.', task).labelsListed).toEqual([]);
  });

  it('tells a strict output format from a loose one and from none', () => {
    expect(instructionFeatures(FORMAT_RULE, task).format).toBe('strict');
    expect(instructionFeatures('Output the label only, exactly as written.', task).format).toBe('strict');
    expect(instructionFeatures('Respond with just the label: no explanation.', task).format).toBe('strict');
    expect(instructionFeatures('Return the intent label for the query.', task).format).toBe('loose');
    expect(instructionFeatures('Think about the intent.', task).format).toBe('none');
  });

  it('notices a request for reasoning, but not a prohibition of it', () => {
    expect(instructionFeatures('Briefly explain your reasoning, then give the label.', task).asksForExplanation).toBe(true);
    expect(instructionFeatures('Think step by step.', task).asksForExplanation).toBe(true);
    expect(instructionFeatures('Do not explain anything.', task).asksForExplanation).toBe(false);
  });

  it('grades a rule for a confusable pair by whether its cue words point at the right label', () => {
    expect(strengthOf('Use card_stolen when the customer mentions stolen or theft; use card_lost when they mention lost or misplaced.', 'card_lost')).toBe('full');
    expect(strengthOf('If the query says lost, the intent is card_lost; if it says stolen, it is card_stolen.', 'card_lost')).toBe('full');
    expect(strengthOf('Do not confuse card_lost with card_stolen: card_lost means lost, whereas card_stolen means theft.', 'card_lost')).toBe('full');
    expect(strengthOf('card_lost: lost, misplaced; card_stolen: stolen, stole.', 'card_stolen')).toBe('full');
    // Cue words tied to the wrong label: worse than saying nothing, and reported as such.
    expect(strengthOf('Use card_lost when the customer mentions stolen or theft; use card_stolen when they mention lost.', 'card_lost')).toBe('inverted');
    // Both labels, no cue words: the model knows they differ, not how.
    expect(strengthOf('Be careful to distinguish card_lost from card_stolen.', 'card_lost')).toBe('partial');
    // Both labels appear only in the full list: not a rule.
    expect(strengthOf(labelList(task), 'card_lost')).toBe('none');
    // Other pairs are untouched by a rule about one pair.
    expect(strengthOf('card_lost: lost; card_stolen: stolen.', 'transfer_failed')).toBe('none');
  });

  it('a correct and a contradicting rule for the same pair leave it partial', () => {
    const both = 'card_lost: lost; card_stolen: stolen.\nUse card_lost when they say stolen; use card_stolen when they say lost.';
    expect(strengthOf(both, 'card_lost')).toBe('partial');
  });

  it('recognises persona and high-stakes framing', () => {
    const f = instructionFeatures("You are a banking triage agent. Mistakes put customers' money at risk.", task);
    expect(f.persona).toBe(true);
    expect(f.highStakes).toBe(true);
  });

  it('sees every pair ruled in the full instruction', () => {
    const f = instructionFeatures(fullInstruction(task), task);
    expect(f.labelCoverage).toBe(1);
    expect(f.format).toBe('strict');
    expect(f.pairRules.map((r) => r.strength)).toEqual(task.pairs.map(() => 'full'));
  });

  it('splits clauses at ;, dashes, contrast words and ", and", as the split pattern did', () => {
    expect(splitClauses('use card_lost when lost; card_stolen when stolen')).toEqual(['use card_lost when lost', ' card_stolen when stolen']);
    expect(splitClauses('a - b \u2013 c')).toEqual(['a', 'b', 'c']);
    expect(splitClauses('lost, whereas  stolen, and theft BUT robbed otherwise\tx butter')).toEqual(['lost', 'stolen', 'theft', 'robbed', 'x butter']);
    // Right after a dash's blank, more blanks then a contrast word still end a clause.
    expect(splitClauses('a -   while b')).toEqual(['a', 'b']);
  });

  it('reads a long run of blanks in a rule in linear time', () => {
    // A proxy caller's system text reaches the sim policy; the old split took ~3.5 s here (square of the run).
    const started = performance.now();
    const f = instructionFeatures(`card_lost when lost${' '.repeat(100_000)}card_stolen when stolen`, task);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(f.pairRules.find((r) => r.labels.includes('card_lost'))?.strength).toBe('full');
  });

  it('reads a rule naming its labels and cue words thousands of times in n log n', () => {
    // Each cue was measured against every label (n², ~3 s here); past ~120,000 labels the spread
    // into Math.min threw a RangeError.
    const rule = `card_lost card_stolen ${'lost card_lost card_stolen '.repeat(12_000)}`;
    const started = performance.now();
    expect(strengthOf(rule, 'card_lost')).toBe('partial'); // each cue as near one label as the other
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(strengthOf(`card_lost, card_stolen ${'card_lost '.repeat(150_000)}when lost - card_stolen when stolen`, 'card_lost')).toBe('full');
  });
});
