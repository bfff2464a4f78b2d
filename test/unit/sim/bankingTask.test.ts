import { describe, expect, it } from 'vitest';
import { createBankingTask, normalizeLabel } from '../../../src/providers/sim/bankingTask.js';
import { containsWord } from '../../../src/providers/sim/textMatch.js';

describe('banking task', () => {
  const task = createBankingTask();

  it('has about twenty intents and a few hundred distinct queries covering each', () => {
    expect(task.intents.length).toBeGreaterThanOrEqual(18);
    expect(task.intents.length).toBeLessThanOrEqual(25);
    expect(task.examples.length).toBeGreaterThanOrEqual(200);
    expect(new Set(task.examples.map((e) => e.text)).size).toBe(task.examples.length);
    for (const label of task.intents) {
      expect(task.examples.filter((e) => e.label === label).length).toBeGreaterThanOrEqual(10);
    }
    expect(task.examples.every((e) => task.intents.includes(e.label))).toBe(true);
  });

  it('builds the same examples every time (no randomness)', () => {
    expect(createBankingTask().examples).toEqual(task.examples);
  });

  it('indexes queries by seed modulo the number of examples, negative seeds included', () => {
    const n = task.examples.length;
    expect(task.example(0).text).toBe(task.examples[0]?.text);
    expect(task.example(n + 7).text).toBe(task.examples[7]?.text);
    expect(task.example(-1).text).toBe(task.examples[n - 1]?.text);
    expect(task.example(n + 7).seed).toBe(n + 7);
    expect(task.userMessage(3)).toBe(task.examples[3]?.text);
  });

  it('covers every intent in any twenty consecutive seeds', () => {
    const labels = new Set(Array.from({ length: task.intents.length }, (_, i) => task.example(137 + i).label));
    expect(labels.size).toBe(task.intents.length);
  });

  it('scores 1 only for the label itself, forgiving case, quotes and spaces but not a sentence', () => {
    const seed = task.examples.findIndex((e) => e.label === 'card_stolen');
    expect(task.score(seed, 'card_stolen')).toBe(1);
    expect(task.score(seed, ' "Card Stolen". ')).toBe(1);
    expect(task.score(seed, '`card-stolen`')).toBe(1);
    expect(task.score(seed, 'The intent is card_stolen.')).toBe(0);
    expect(task.score(seed, 'card_lost')).toBe(0);
    expect(task.score(seed, 'stolen_card')).toBe(0);
    expect(normalizeLabel('**Top up failed**')).toBe('top_up_failed');
  });

  it('starts from a weak baseline instruction with no label list and no format', () => {
    expect(task.baselineInstruction).toBe("Classify the customer's banking query into an intent.");
    expect(task.intents.some((l) => containsWord(task.baselineInstruction, l))).toBe(false);
  });

  it('defines confusable pairs of real intents whose cue words occur in their queries', () => {
    expect(task.pairs.length).toBeGreaterThanOrEqual(5);
    const lostStolen = task.pairs.find((p) => p.labels.includes('card_lost') && p.labels.includes('card_stolen'));
    expect(lostStolen).toBeDefined();
    for (const pair of task.pairs) {
      pair.labels.forEach((label, side) => {
        expect(task.intents).toContain(label);
        expect(task.pairOf(label)).toBe(pair);
        const cues = pair.cues[side] ?? [];
        const withCue = task.examples.filter((e) => e.label === label && cues.some((c) => containsWord(e.text, c)));
        expect(withCue.length, `${label} queries with a cue word`).toBeGreaterThan(0);
      });
    }
    expect(task.pairOf('close_account')).toBeUndefined();
  });

  it('finds the example inside a wrapped user message', () => {
    const e = task.examples[42];
    expect(e).toBeDefined();
    expect(task.findExample(`Customer query: ${e?.text}`)?.label).toBe(e?.label);
    expect(task.findExample('What is the weather like?')).toBeUndefined();
  });
});
