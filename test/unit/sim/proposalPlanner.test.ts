import { describe, expect, it } from 'vitest';
import { createSimProvider } from '../../../src/providers/sim/index.js';
import { fencedAndTagged } from '../../../src/providers/sim/proposalPlanner.js';

describe('fencedAndTagged: instructions quoted in a proposer prompt', () => {
  it('finds fenced blocks and closed instruction tags, in order, as the pattern did', () => {
    const prompt = 'Intro ```json\n{"a": 1}``` then <Parent_Instruction>Sort it.</parent_instruction> <instruction>open\n'
      + '<my_instruction_v2>Label it.</MY_INSTRUCTION_V2> <instructions>x</instruction> ``` no newline after';
    expect(fencedAndTagged(prompt)).toEqual(['{"a": 1}', 'Sort it.', 'open\n<my_instruction_v2>Label it.</MY_INSTRUCTION_V2> <instructions>x']);
    expect(fencedAndTagged('```\n```')).toEqual(['']);
    expect(fencedAndTagged('<instruction>a<instruction>b</instruction>')).toEqual(['a<instruction>b']);
  });

  it('reads backticks without a newline, unclosed tags and long tag names in linear time', () => {
    // The prompt quotes texts proxy callers sent. The old pattern took ~3 s on the backticks alone.
    const started = performance.now();
    expect(fencedAndTagged('```'.repeat(20_000))).toEqual([]);
    expect(fencedAndTagged('<instruction>'.repeat(20_000))).toEqual([]);
    expect(fencedAndTagged(`<${'instruction'.repeat(20_000)}`)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('lets the proposer simulator answer a prompt quoting 120,000 backticks within a second', async () => {
    // A discovered module's text is quoted in the prompt; the old pattern took seconds on this.
    const proposer = createSimProvider({ provider: 'sim', model: 'sim-proposer' });
    const started = performance.now();
    const res = await proposer.complete({ model: 'sim-proposer', messages: [{ role: 'user', content: `Current instruction to improve:\n> Classify it.\n\n${'`'.repeat(120_000)}` }] });
    expect(res.json.choices[0]?.message.content).toEqual(expect.any(String));
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
