import { describe, expect, it } from 'vitest';
import { findParentInstruction } from '../../../src/providers/sim/proposerPromptReader.js';

describe('findParentInstruction: tagged instructions', () => {
  it('reads the first closed tag, trimmed, whatever the case of its closing tag', () => {
    expect(findParentInstruction('x <parent_instruction>\n  Sort it.  \n</parent_instruction> y')).toBe('Sort it.');
    expect(findParentInstruction('<Instruction> Classify. </INSTRUCTION>')).toBe('Classify.');
    // An unclosed tag is passed over for a later one that is closed.
    expect(findParentInstruction('<parent> never closed <instruction>Route it.</instruction>')).toBe('Route it.');
    // The closing tag must name the same tag.
    expect(findParentInstruction('<parent>Label it.</instruction> <parent>Tag it.</parent>')).toBe('Label it.</instruction> <parent>Tag it.');
  });

  it('reads a tag that is never closed, followed by blanks, in linear time', () => {
    // The prompt quotes texts proxy callers sent. The old pattern took ~10 s here (cube of the blanks).
    const text = `<instruction>${' '.repeat(4_000)}x\n${'<parent>\t'.repeat(2_000)}`;
    const started = performance.now();
    findParentInstruction(text); // no closed tag: what the headings make of it is not the point here
    expect(findParentInstruction(`<instruction>${' '.repeat(200_000)}Sort it.</instruction>`)).toBe('Sort it.');
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
