import { describe, expect, it } from 'vitest';
import { framingModule, longestEndByKmp, longestEndIn, nearMiss } from '../../../src/optimizer/core/templateHint.js';
import { parseTemplate } from '../../../src/optimizer/core/templates.js';

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

/**
 * A call whose system text drifted from its declared template (a period left out, a word changed)
 * passed through unoptimized with only "matched no module": the app had to diff a long template by
 * hand. The unmatched event now names the nearest module and where the text leaves it.
 */
describe('the declared module an unmatched text nearly follows', () => {
  const modules = [
    { name: 'classify', parsed: parseTemplate("Classify the customer's banking query into an intent.") },
    { name: 'answer', parsed: parseTemplate('Answer from this context:\n{context}\nBe brief.') },
    { name: 'retrieve', parsed: parseTemplate('Write a search query. Intent: {intent}. Customer: {customer}.') },
  ];
  const near = (text: string) => nearMiss(modules, text);

  it('says where a plain template and the text part: a character missing, changed or added', () => {
    expect(near("Classify the customer's banking query into an intent")).toEqual({ module: 'classify', matched: 52, reason: 'at character 53 the template has "." where the text ends' });
    expect(near("Classify the customer's banking query into a intent.")).toMatchObject({ module: 'classify', reason: 'at character 45 the template has "n intent." where the text differs' });
    expect(near("Classify the customer's banking query into an intent.\n")).toMatchObject({ module: 'classify', reason: 'at character 54 the template ends where the text goes on' });
  });

  it('walks a template with placeholders: its start, the literal text between them, its end', () => {
    expect(near('Answer from the context:\nCards arrive in 5 days.\nBe brief.')).toMatchObject({ module: 'answer', reason: 'at character 15 the template has "is context:\\n" where the text differs' });
    expect(near('Answer from this context:\nCards arrive in 5 days.')).toMatchObject({ module: 'answer', reason: 'the text does not end as the template does ("\\nBe brief."): only the last character agrees' });
    expect(near('Answer from this context:\nCards arrive in 5 days')).toMatchObject({ module: 'answer', reason: 'the text does not end as the template does ("\\nBe brief.")' });
    expect(near('Answer from this context:\nCards.\nBe brief!')).toMatchObject({ module: 'answer' });
    expect(near('Write a search query. Intent: card_lost; Customer: Ada.')).toMatchObject({ module: 'retrieve', reason: 'the template\'s text ". Customer: " after {intent} is not in the text' });
  });

  /**
   * A RAG prompt whose first placeholder comes early keeps most of its literal text between two
   * placeholders. A changed word or an added blank line there left only the text before the first
   * placeholder counted, under half the template: "no declared module comes close" for the very
   * drift the hint is for.
   */
  it('counts the literal text between placeholders the text follows up to a changed word or an added line', () => {
    const rag = [{ name: 'answer', parsed: parseTemplate('Answer in a {style} style.\nUse only these passages:\n{passages}') }];
    expect(nearMiss(rag, 'Answer in a formal style.\nUse ONLY these passages:\n[1] The tower is 330 m tall.'))
      .toEqual({ module: 'answer', matched: 12 + 12 + 17, reason: 'at character 31 the template has "only these passages:\\n" where the text differs' });
    // Anthropic system blocks joined by a blank line: the template's rest is found after it.
    expect(nearMiss(rag, 'Answer in a formal style.\n\nUse only these passages:\nP')).toMatchObject({ module: 'answer', matched: 12 + 8 + 25, reason: 'at character 27 the template has "Use only these passages:" where the text differs' });
    // Nothing of the template's middle text: as before.
    expect(nearMiss(rag, 'Answer in a formal tone, citing nothing at all today.')).toBeNull();
  });

  it('quotes the template only, never the text (the app\'s call, cleared by RETENTION_DAYS from previews)', () => {
    const secret = 'Answer from this context:\nAccount 4411-PRIVATE is overdrawn.\nBe short.';
    expect(JSON.stringify(near(secret))).not.toContain('4411');
    expect(JSON.stringify(near("Classify the customer's banking query into 4411-PRIVATE"))).not.toContain('4411');
  });

  it('says nothing of a text that matches, or that no template comes near', () => {
    expect(near("Classify the customer's banking query into an intent.")).toBeNull();
    expect(near('Answer from this context:\nanything\nBe brief.')).toBeNull();
    expect(near('Summarise the conversation for the ticket system.')).toBeNull();
    expect(near('Classify the order.')).toBeNull(); // 9 characters in common: chance
    expect(nearMiss([{ name: 'empty', parsed: parseTemplate('') }, { name: 'bare', parsed: parseTemplate('{x}') }], 'anything')).toBeNull();
  });

  it('picks the template the text follows furthest', () => {
    const two = [
      { name: 'short', parsed: parseTemplate('Classify the customer query.') },
      { name: 'long', parsed: parseTemplate('Classify the customer query into one of the twenty banking intents.') },
    ];
    expect(nearMiss(two, 'Classify the customer query into one of the 20 banking intents.')?.module).toBe('long');
  });

  it('is linear: a 1 MB text against a template that differs at its end', () => {
    const side = 'x'.repeat(500_000);
    const started = Date.now();
    expect(nearMiss([{ name: 'm', parsed: parseTemplate(`${side}{a}A${side}`) }], `${side}zzB${side}`)?.module).toBe('m');
    // The literal text between two placeholders, followed up to its last character.
    expect(nearMiss([{ name: 'm', parsed: parseTemplate(`Head {a}${side}A{b}`) }], `Head z${side}B tail`)).toMatchObject({ module: 'm', matched: 5 + 500_000 });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('answers at once for a 1 MB text against 16 templates whose literal it leaves (the hint runs as the call goes upstream)', () => {
    // A RAG app's drifted prompt: its passages (1 MB) after a line that no longer says what the templates say.
    const words = ['the', 'passage', 'retrieved', 'of', 'answer', 'question', 'use', 'only', 'these', 'and', 'model', 'context'];
    let text = 'Answer in a terse style.\nUse ONLY these passages:\n';
    for (let i = 0; text.length < 1_000_000; i++) text += `${words[(i * 7) % words.length]}${i % 10 === 0 ? '.\n' : ' '}`;
    const modules = Array.from({ length: 16 }, (_, i) => ({ name: `m${i}`, parsed: parseTemplate(`Answer in a {style} style.\nStage ${i}: use only these passages:\n{passages}`) }));
    const started = performance.now();
    for (let round = 0; round < 5; round++) expect(nearMiss(modules, text)?.reason).toBe('at character 26 the template has "Stage 0: use only these " where the text differs');
    // Read a character at a time, each round took 0.5-1.5 s; with indexOf, about 20 ms: a wide bound
    // between the two (the machines are shared; a timed bound this loose still catches the old code).
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('follows a literal whose end the text has one character longer at each place in linear time', () => {
    // `b` and 99,000 `a`s between two placeholders, against a text of `a`s: each search found one
    // more `a`, searched for again from the start (1.5 s per module on the old code).
    const literal = `b${'a'.repeat(99_000)}`;
    const modules = Array.from({ length: 4 }, (_, i) => ({ name: `m${i}`, parsed: parseTemplate(`Head {a}${literal}{b}. (${i})`) }));
    const started = performance.now();
    const miss = nearMiss(modules, `Head ${'a'.repeat(99_010)}. (0)`);
    // About 0.3 s now, 6 s on the old code: a bound between the two that a loaded CI machine keeps.
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(miss).toMatchObject({ module: 'm0', matched: 'Head '.length + 99_000 });
  });

  it('finds the same longest end by Knuth-Morris-Pratt as by searching (the fallback agrees)', () => {
    for (const [p, text, from, to] of [['baaa', 'xaaay', 0, 5], ['abcabd', 'zabcabcabdz', 1, 11], ['abcabd', 'zabcabcabdz', 1, 9], ['xyz', 'abc', 0, 3], ['', 'abc', 0, 3], ['aab', 'ab', 0, 2]] as const) {
      expect(longestEndByKmp(p, text, from, to)).toBe(longestEndIn(p, text, from, to));
    }
  });
});
