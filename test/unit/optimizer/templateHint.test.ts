import { describe, expect, it } from 'vitest';
import { framingModule } from '../../../src/optimizer/core/templateHint.js';

describe('spotting per-request content in discovered texts', () => {
  const m1 = { name: 'm1', template: 'Answer the question from this context:\nParis is the capital of France.\nBe brief.' };

  it('names the module whose text has the same start and end around another middle', () => {
    const text = 'Answer the question from this context:\nThe Nile flows north into the Mediterranean.\nBe brief.';
    expect(framingModule([{ name: 'm0', template: 'Plan the steps.' }, m1], text)).toEqual({ name: 'm1', shared: 50 });
    // Context appended to a fixed instruction: the whole shorter text is the shared start.
    const head = 'You are a support agent for ACME. Retrieved documents follow.';
    expect(framingModule([{ name: 'm1', template: `${head}\nDoc A` }], `${head}\nDoc B, longer than the first one`)?.name).toBe('m1');
  });

  it('leaves different prompts alone, short ones included', () => {
    expect(framingModule([m1], 'Summarise the conversation for the ticket system.')).toBeNull();
    // A few words in common by chance, or a short pair differing by one word, is not a frame.
    expect(framingModule([{ name: 'm1', template: 'Plan the steps.' }], 'Plan the trip.')).toBeNull();
    // A long shared preamble that is less than half of the shorter text is not one either.
    const preamble = 'You are ACME Bank assistant. ';
    expect(framingModule([{ name: 'm1', template: `${preamble}${'Classify the intent of the message into one of the labels. '.repeat(2)}` }],
      `${preamble}${'Write a polite answer that resolves the customer issue fully. '.repeat(2)}`)).toBeNull();
    expect(framingModule([], 'anything')).toBeNull();
  });

  it('never counts a character twice when one text holds the other (start and end overlap)', () => {
    expect(framingModule([{ name: 'm1', template: 'abababababababababababababab' }], 'abababababababababababababababab')).toEqual({ name: 'm1', shared: 28 });
  });

  it('is linear: two 1 MB texts that differ in the middle', () => {
    const side = 'x'.repeat(500_000);
    const started = Date.now();
    expect(framingModule([{ name: 'm1', template: `${side}A${side}` }], `${side}B${side}`)).toEqual({ name: 'm1', shared: 1_000_000 });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
