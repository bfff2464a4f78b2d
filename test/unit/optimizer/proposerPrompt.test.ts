import { describe, expect, it } from 'vitest';
import {
  buildDatasetSummaryPrompt,
  buildProposerPrompt,
  renderInput,
  selectReflectionRollouts,
  TIP_TEXTS,
  type ProposerPromptInput,
} from '../../../src/optimizer/core/index.js';

const baseline = 'Classify the ticket about {product} into one of: billing, bug, other. Answer with the label only.';
/** A recorded call: the proxy keeps the app's messages without the module's own system text. */
const msgs = (text: string) => [{ role: 'user', content: text }];

const observed = [
  { split: 'online', input: msgs('ONLINE-WORST-1 refund please'), output: 'bug', reward: 0 },
  { split: 'online', input: msgs('ONLINE-WORST-2 app crashes'), output: 'other', reward: 0 },
  { split: 'bootstrap', input: 'ONLINE-MID plain text input', output: 'other', reward: 0.5 },
  { split: 'online', input: msgs('ONLINE-BEST-1 invoice wrong'), output: 'billing', reward: 1 },
  { split: 'online', input: [{ role: 'user', content: [{ type: 'text', text: 'ONLINE-BEST-2 parts' }, { type: 'image_url' }] }], output: 'bug', reward: 1 },
  { split: 'val', input: msgs('VAL-SECRET-INPUT do not leak'), output: 'VAL-SECRET-OUTPUT', reward: 0 },
  { split: 'val', input: msgs('VAL-SECRET-INPUT-2'), output: 'billing', reward: 1 },
];

function input(over: Partial<ProposerPromptInput> = {}): ProposerPromptInput {
  const { worst, best } = selectReflectionRollouts(observed);
  return {
    datasetSummary: 'Customer support tickets, short, mostly English.',
    programDescription: baseline,
    parent: { instruction: 'PARENT: label the {product} ticket.', n: 120, mean: 0.62, ci: [0.5, 0.73] },
    worstRollouts: worst,
    bestRollouts: best,
    history: [
      { instruction: 'TOP-1 instruction {product}', status: 'active', n: 300, mean: 0.7, ci: [0.64, 0.76] },
      { instruction: 'RETIRED-BAD instruction {product}', status: 'retired', n: 40, mean: 0.2, ci: [0.05, 0.41] },
      { instruction: 'NEVER-RUN instruction', status: 'active', n: 0, mean: 0, ci: [0, 1] },
    ],
    tip: 'persona',
    instructionsPerBatch: 3,
    ...over,
  };
}

describe('selectReflectionRollouts', () => {
  it('takes the worst three and best two, never from the val split', () => {
    const { worst, best } = selectReflectionRollouts(observed);
    expect(worst.map((r) => r.reward)).toEqual([0, 0, 0.5]);
    expect(best.map((r) => r.reward)).toEqual([1, 1]);
    expect(JSON.stringify([worst, best])).not.toMatch(/VAL-SECRET/);
    expect(worst[0]).not.toHaveProperty('split');
  });

  it('never shows a top-scoring rollout as a worst case', () => {
    const allRight = [1, 2, 3, 4, 5].map((i) => ({ input: `q${i}`, output: 'right', reward: 1, split: 'online' }));
    const { worst, best } = selectReflectionRollouts(allRight);
    expect(best.map((r) => r.reward)).toEqual([1, 1]);
    expect(worst).toEqual([]);
    const mixed = selectReflectionRollouts([...allRight, { input: 'q6', output: 'wrong', reward: 0, split: 'online' }]);
    expect(mixed.worst.map((r) => r.reward)).toEqual([0]);
  });

  it('shows a success as a best case when there are only a few rollouts', () => {
    const { worst, best } = selectReflectionRollouts(observed.slice(0, 1).concat(observed.slice(3, 4)));
    expect(best.map((r) => r.reward)).toEqual([1]);
    expect(worst.map((r) => r.reward)).toEqual([0]);
  });
});

describe('buildProposerPrompt', () => {
  const messages = buildProposerPrompt(input());
  const text = messages.map((m) => m.content).join('\n');

  it('is a system and a user message', () => {
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
  });

  it('contains every required section', () => {
    for (const heading of [
      '## Task data',
      '## Program description',
      '## Current instruction to improve',
      '## Rollouts where it did worst',
      '## Rollouts where it did best',
      '## Instructions tried before',
      '## Style tip',
      '## Constraints',
      '## Answer format',
    ]) {
      expect(text).toContain(heading);
    }
    expect(text).toContain('Customer support tickets');
    expect(text).toContain(baseline);
    expect(text).toContain('PARENT: label the {product} ticket.');
    expect(text).toContain('0.620 [0.500, 0.730], n=120');
    expect(text).toContain(TIP_TEXTS.persona);
  });

  it('says, in a program of several modules, that the task data describes the first module\'s inputs', () => {
    const program = { modules: [{ name: 'extract', instruction: 'E.' }, { name: 'answer', instruction: 'A.' }], target: 'answer' };
    const many = buildProposerPrompt(input({ program })).map((m) => m.content).join('\n');
    expect(many).toContain('Customer support tickets, short, mostly English.\n(This describes the program\'s inputs, as its first module, "extract", receives them.)');
    expect(text).not.toContain('This describes the program');
  });

  it('shows the parent rollouts with inputs, outputs and rewards', () => {
    for (const marker of ['ONLINE-WORST-1', 'ONLINE-WORST-2', 'ONLINE-MID', 'ONLINE-BEST-1', 'ONLINE-BEST-2 parts [image_url]']) {
      expect(text).toContain(marker);
    }
    expect(text).toContain('reward 0.000');
  });

  it('shows the app\'s own system message (its context) in a rollout, cut so the question after it stays', () => {
    const passages = `PASSAGES: ${'the tower is 330 m tall. '.repeat(100)}`;
    const withContext = { split: 'online', input: [{ role: 'system', content: passages }, { role: 'user', content: 'QUESTION-AFTER-CONTEXT' }], output: 'bug', reward: 0 };
    const shown = buildProposerPrompt(input({ worstRollouts: [withContext] })).map((m) => m.content).join('\n');
    expect(shown).toContain('system: PASSAGES: the tower');
    expect(shown).toContain('user: QUESTION-AFTER-CONTEXT');
    expect(shown).not.toContain(passages);
  });

  it('keeps the question of each call of the module a rollout shows, each call with its context', () => {
    const passages = `PASSAGES: ${'the tower is 330 m tall. '.repeat(100)}`;
    // Two calls of the module in one rollout (moduleEvidence.ts shows up to two), as observedCalls lists them.
    const input = [
      { role: 'call 1', content: '' }, { role: 'system', content: passages }, { role: 'user', content: 'FIRST-QUESTION' },
      { role: 'call 2', content: '' }, { role: 'system', content: passages }, { role: 'user', content: 'SECOND-QUESTION' },
    ];
    const shown = renderInput(input, 700);
    expect(shown).toContain('FIRST-QUESTION');
    expect(shown).toContain('SECOND-QUESTION');
    expect(renderInput([{ role: 'system', content: passages }, { role: 'user', content: 'Q' }], 700)).toContain(`system: ${passages.slice(0, 300)}`);
  });

  it('shows the tool calls of a tool loop\'s assistant turns, not an empty assistant line before their results', () => {
    const loop = [
      { role: 'user', content: 'Find the refund policy' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search', arguments: '{"q":"refund policy"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'Refunds within 30 days' },
      { role: 'assistant', content: 'Checking one more.', tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{"id":7}' } }] },
      { role: 'tool', tool_call_id: 'call_2', content: 'Order 7: 12 days old' },
      { role: 'assistant', content: null, function_call: { name: 'legacy_fn', arguments: '{}' } },
    ];
    const shown = renderInput(loop, 2000);
    expect(shown).toContain('assistant: [tool call] search({"q":"refund policy"})\ntool: Refunds within 30 days');
    expect(shown).toContain('assistant: Checking one more.\n[tool call] lookup({"id":7})');
    expect(shown).toContain('assistant: [tool call] legacy_fn({})');
    expect(shown).not.toMatch(/assistant: \n/);
  });

  it('cuts each tool result of a loop so a long one cannot hide the later tool calls and results', () => {
    const loop: unknown[] = [{ role: 'user', content: 'Q-START' }];
    for (let i = 0; i < 3; i++) {
      loop.push({ role: 'assistant', content: null, tool_calls: [{ id: `c${i}`, type: 'function', function: { name: `tool${i}`, arguments: '{}' } }] });
      loop.push({ role: 'tool', tool_call_id: `c${i}`, content: `RESULT-${i} ${'x'.repeat(1500)}` });
    }
    const shown = renderInput(loop, 700);
    expect(shown.length).toBeLessThanOrEqual(760);
    for (const i of [0, 1, 2]) {
      expect(shown).toContain(`[tool call] tool${i}({})`);
      expect(shown).toContain(`tool: RESULT-${i}`);
    }
  });

  it('cuts a long conversation in its middle: the task\'s opening and the last turns, which the answer follows, both show', () => {
    const loop: unknown[] = [{ role: 'user', content: `Q-START ${'plan step. '.repeat(200)} Q-END` }];
    for (let i = 0; i < 2; i++) {
      loop.push({ role: 'assistant', content: null, tool_calls: [{ id: `c${i}`, type: 'function', function: { name: `tool${i}`, arguments: '{}' } }] });
      loop.push({ role: 'tool', tool_call_id: `c${i}`, content: `RESULT-${i}` });
    }
    const shown = renderInput(loop, 700);
    expect(shown.length).toBeLessThanOrEqual(760);
    expect(shown).toMatch(/^user: Q-START/);
    expect(shown).toContain('characters left out]');
    expect(shown).toContain('assistant: [tool call] tool1({})\ntool: RESULT-1');
    // Half an emoji never opens the tail.
    expect(renderInput([{ role: 'user', content: '\u{1F600}'.repeat(1000) }], 301).isWellFormed()).toBe(true);
  });

  it('lists previous instructions with scores: the top ones and the worst retired, not unscored ones', () => {
    expect(text).toContain('0.700 [0.640, 0.760], n=300');
    expect(text).toContain('TOP-1 instruction');
    expect(text).toContain('RETIRED-BAD instruction');
    expect(text).toContain('retired');
    expect(text).not.toContain('NEVER-RUN');
  });

  it('states the constraints: placeholders, format, no example answers, length', () => {
    expect(text).toContain('{product}');
    expect(text).toMatch(/output format/i);
    expect(text).toMatch(/do not include answers/i);
    expect(text).toContain('at most 4000 characters');
  });

  it('asks for exactly N instructions as JSON', () => {
    expect(text).toContain('Propose exactly 3 new, different instructions');
    expect(text).toContain('{"instructions": ["instruction 1", "instruction 2", "instruction 3"]}');
  });

  it('never contains val inputs or outputs', () => {
    expect(text).not.toMatch(/VAL-SECRET/);
  });

  it('truncates long rollout text and omits the tip section for "none"', () => {
    const long = 'y'.repeat(5000);
    const m = buildProposerPrompt(input({ tip: 'none', worstRollouts: [{ input: long, output: long, reward: 0 }], maxRolloutChars: 300 }));
    const t = m.map((x) => x.content).join('\n');
    expect(t).not.toContain('## Style tip');
    expect(t).not.toContain('y'.repeat(301));
    expect(t).toContain('more characters]');
  });
});

describe('buildDatasetSummaryPrompt', () => {
  it('shows up to ten inputs and asks for a 2-3 sentence summary', () => {
    const inputs = Array.from({ length: 15 }, (_, i) => msgs(`TICKET-${i}`));
    const m = buildDatasetSummaryPrompt(inputs);
    const t = m.map((x) => x.content).join('\n');
    expect(t).toContain('TICKET-9');
    expect(t).not.toContain('TICKET-10');
    expect(t).toMatch(/2-3 sentences/);
  });
});
