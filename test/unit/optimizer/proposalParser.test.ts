import { describe, expect, it } from 'vitest';
import { parseProposals, type ParseContext } from '../../../src/optimizer/core/index.js';
import { UNPARSEABLE_REPLY, instructionProblem } from '../../../src/optimizer/core/proposalParser.js';
import { buildProposerPrompt, instructionLengthLimit } from '../../../src/optimizer/core/proposerPrompt.js';

const ctx: ParseContext = {
  baseline: 'Answer the question about {topic}. Reply with one word.',
  existing: ['Answer the question about {topic}. Reply with one word.'],
  n: 2,
};
const A = 'You are a careful expert on {topic}. Think, then reply with one word.';
const B = 'Read the question about {topic} twice and reply with exactly one word.';

describe('parseProposals', () => {
  it.each([
    { name: 'plain JSON', text: JSON.stringify({ instructions: [A, B] }) },
    { name: 'JSON in a ```json fence with chatter', text: `Sure! Here you go:\n\`\`\`json\n${JSON.stringify({ instructions: [A, B] }, null, 2)}\n\`\`\`\nGood luck.` },
    { name: 'JSON in a bare fence', text: `\`\`\`\n${JSON.stringify({ instructions: [A, B] })}\n\`\`\`` },
    { name: 'JSON object embedded in prose', text: `My proposals: ${JSON.stringify({ instructions: [A, B] })} (end)` },
    { name: 'a JSON array', text: JSON.stringify([A, B]) },
    { name: 'objects with an instruction field', text: JSON.stringify({ instructions: [{ instruction: A }, { instruction: B }] }) },
    { name: 'a numbered list', text: `Here are two:\n\n1. ${A}\n2. ${B}\n` },
    { name: 'a bulleted list with labels', text: `- Instruction 1: ${A}\n- Instruction 2: ${B}` },
    { name: 'a list with quoted items', text: `1) "${A}"\n2) "${B}"` },
  ])('accepts $name', ({ text }) => {
    expect(parseProposals(text, ctx)).toEqual({ accepted: [A, B], rejected: [] });
  });

  it('joins continuation lines of a list item', () => {
    const r = parseProposals(`1. ${A}\n   Keep it short.\n2. ${B}`, ctx);
    expect(r.accepted).toEqual([`${A}\nKeep it short.`, B]);
  });

  it.each([
    { name: 'prose', text: 'I think the instruction is already good and should not change.' },
    { name: 'empty', text: '' },
    { name: 'broken JSON', text: '{"instructions": ["unterminated' },
    { name: 'JSON without instructions', text: '{"answer": 42}' },
  ])('accepts nothing from garbage: $name', ({ text }) => {
    const r = parseProposals(text, ctx);
    expect(r.accepted).toEqual([]);
    expect(r.rejected.length).toBeGreaterThan(0);
  });

  it('an unparseable reply says which shapes are read', () => {
    // A local proposer model (openai_compatible) that answered prose failed every proposal with a bare
    // "unparseable reply": `miprox jobs show` printed it, and nothing said what the answer must look like.
    const r = parseProposals('I think the instruction is already good and should not change.', ctx);
    expect(r.rejected.map((x) => x.reason)).toEqual([UNPARSEABLE_REPLY]);
    expect(UNPARSEABLE_REPLY).toBe('unparseable reply (expected JSON {"instructions": ["..."]}, fenced or not, or a numbered list)');
  });

  it.each([
    // The reply is whatever the proposer's upstream sends (a job's openai_compatible proposer may name
    // any public server). Each of these cost the square, or the cube, of its run of blanks: seconds
    // on the old code at these sizes, hours at the 16 MiB a reply may have, the event loop held.
    { name: 'an unclosed fence and blanks', text: `\`\`\`${' '.repeat(300_000)}x` },
    { name: 'an unclosed fence and letters', text: `\`\`\`${'a'.repeat(300_000)}x` },
    { name: 'a list marker, blanks and a lone CR', text: `- ${' '.repeat(150_000)}x\ry` },
    { name: 'a label and blanks without its colon', text: `1. Instruction${' '.repeat(3_000)}x` },
  ])('reads a long adversarial reply in linear time: $name', ({ text }) => {
    const started = Date.now();
    expect(parseProposals(text, ctx).accepted).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reads fences, markers and labels as before', () => {
    // The linear readings keep what the patterns read: an info string and blanks skipped, a lone CR
    // after a marker makes no item, a label's blanks, number, bold and colon are dropped.
    expect(parseProposals(`\`\`\`json  \n${JSON.stringify([A])}\`\`\` and \`\`\`${JSON.stringify([B])}\`\`\``, ctx).accepted).toEqual([A]);
    expect(parseProposals(`\`\`\`\`\`\`\n\`\`\`${JSON.stringify([B])}\`\`\``, ctx).accepted).toEqual([B]);
    expect(parseProposals(`-  ${A}\r(note)\n2.\t${B}`, ctx).accepted).toEqual([B]);
    expect(parseProposals(`1. **Instruction #1 **: ** ${A}\n2. Proposal 2:${B}`, ctx).accepted).toEqual([A, B]);
    expect(parseProposals(`1. Instruction # 1: ${A}`, ctx).accepted).toEqual([`Instruction # 1: ${A}`]);
  });

  it('rejects duplicates of existing candidates and of each other, after normalisation', () => {
    const text = JSON.stringify({
      instructions: ['answer the question about {topic} -- reply with ONE word!', A, '  YOU ARE a careful expert on {topic}...   Think; then reply with one word  '],
    });
    const r = parseProposals(text, { ...ctx, n: 5 });
    expect(r.accepted).toEqual([A]);
    expect(r.rejected.map((x) => x.reason)).toEqual(['duplicate of an existing instruction', 'duplicate of an existing instruction']);
  });

  it('rejects instructions that drop a placeholder of the baseline', () => {
    const r = parseProposals(JSON.stringify({ instructions: ['Reply with one word.', A] }), ctx);
    expect(r.accepted).toEqual([A]);
    expect(r.rejected[0]?.reason).toMatch(/missing placeholder \{topic\}/);
  });

  it('stores half an emoji in an answer as U+FFFD, and refuses a NUL (PostgreSQL text cannot hold one)', () => {
    const r = parseProposals(JSON.stringify({ instructions: [`${A} \ud83d`, `${B}\u0000`] }), ctx);
    expect(r.accepted).toEqual([`${A} \ufffd`]);
    expect(r.rejected.map((x) => x.reason)).toEqual(['contains a NUL character']);
  });

  it('rejects empty and too long instructions', () => {
    const long = `${A} ${'x'.repeat(200)}`;
    const r = parseProposals(JSON.stringify({ instructions: ['   ', '!!!', long, B] }), { ...ctx, maxLength: 150 });
    expect(r.accepted).toEqual([B]);
    expect(r.rejected.map((x) => x.reason)).toEqual(['empty', 'empty', expect.stringMatching(/too long/)]);
  });

  it('takes an instruction as long as twice a long module template (a fixed 4,000 refused every proposal for a 4 KB template)', () => {
    const template = `Classify the message about {topic}.\n${'Rule: keep the label set exact. '.repeat(150)}`;
    expect(template.length).toBeGreaterThan(4_500);
    const rewritten = `${template}\nThink before you answer.`;
    const big: ParseContext = { baseline: template, existing: [template], n: 1 };
    expect(parseProposals(JSON.stringify({ instructions: [rewritten] }), big).accepted).toEqual([rewritten]);
    expect(instructionProblem(rewritten, big)).toBeNull();
    const tooLong = `${rewritten}${'x'.repeat(2 * template.length)}`;
    expect(instructionProblem(tooLong, big)).toMatch(/too long/);
    // Short templates keep the 4,000 floor; no module's limit passes a template's own 100,000.
    expect(instructionLengthLimit('Answer {q}.')).toBe(4_000);
    expect(instructionLengthLimit('x'.repeat(80_000))).toBe(100_000);
    // The proposer is told that limit and shown the whole template, not its first 4,000 characters.
    const prompt = JSON.stringify(buildProposerPrompt({
      datasetSummary: null, programDescription: template, parent: { instruction: template, n: 10, mean: 0.5, ci: [0.2, 0.8] },
      worstRollouts: [], bestRollouts: [], history: [], tip: 'none', instructionsPerBatch: 1,
    }));
    expect(prompt).toContain(`at most ${2 * template.length} characters`);
    expect(prompt).toContain(JSON.stringify(template.slice(-60)).slice(1, -1));
  });

  it('caps the number accepted at n', () => {
    const C = 'Decide what {topic} the question is about, then reply with one word.';
    const r = parseProposals(JSON.stringify({ instructions: [A, B, C] }), ctx);
    expect(r.accepted).toEqual([A, B]);
    expect(r.rejected).toEqual([{ text: C, reason: 'over the limit of 2' }]);
  });
});
