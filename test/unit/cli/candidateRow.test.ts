import { describe, expect, it } from 'vitest';
import { candidateRow } from '../../../src/cli/jobFormat.js';
import type { Candidate } from '../../../src/sdk/index.js';

const OPENING = 'Plan how to help customer {customer} with their banking issue, step by step.';

function candidate(id: string, parent: string | null, module: string | null, instructions: Record<string, string>, changed?: string[]): Candidate {
  return {
    candidate_id: id, system_id: 'sys_1', parent_id: parent, status: 'active', module, instructions,
    instruction: module ? instructions[module]! : Object.values(instructions)[0]!,
    ...(changed ? { changed_modules: changed } : {}),
    rollout_count: 0, reward_count: 0, avg_reward: null, ci: null, val_score: null,
  } as Candidate;
}

describe('miprox candidates: one row per candidate', () => {
  const baseline = candidate('baseline', null, null, { extract: 'Extract.', plan: OPENING }, []);
  const childA = candidate('cand_a', 'baseline', 'plan', { extract: 'Extract.', plan: `${OPENING} Ask before moving money.` }, ['plan']);
  const childB = candidate('cand_b', 'baseline', 'plan', { extract: 'Extract.', plan: `${OPENING} Never promise a refund.` }, ['plan']);

  it('shows a child from where its text leaves its parent\'s, so siblings with one opening line read apart', () => {
    const rows = [childA, childB].map((c) => candidateRow(c, 60, [baseline, childA, childB]).instruction);
    expect(rows).toEqual(['…step by step. Ask before moving money.', '…step by step. Never promise a refund.']);
    // A demo-set proposal's child keeps its parent's text and says so, with its module's demo count,
    // within the same width, shown from its start. The server sends it `tip: null` (the tip "demos" is
    // the proposal's), as it does a warm start that changed only the module's demos.
    const demoChild = { ...candidate('cand_d', 'cand_a', 'plan', { ...childA.instructions }, ['plan']), tip: null, demos: { plan: [{ input: [], output: 'a' }, { input: [], output: 'b' }] } } as unknown as Candidate;
    expect(candidateRow(demoChild, 60, [childA, demoChild]).instruction).toBe(`[2 demos] ${OPENING.slice(0, 49)}…`);
    const tipped = { ...demoChild, tip: 'demos' } as unknown as Candidate;
    expect(candidateRow(tipped, 60, [childA, tipped]).instruction).toBe(`[2 demos] ${OPENING.slice(0, 49)}…`);
    // A child whose text changed carries no mark, demos or not.
    const both = { ...childB, demos: { plan: [{ input: [], output: 'a' }] } } as unknown as Candidate;
    expect(candidateRow(both, 60, [baseline, both]).instruction).toBe('…step by step. Never promise a refund.');
    // Without the parent listed, or with --full, the text from its start.
    expect(candidateRow(childA, 60).instruction).toBe(`${OPENING.slice(0, 59)}…`);
    expect(candidateRow(childA, Number.POSITIVE_INFINITY, [baseline]).instruction).toBe(`${OPENING} Ask before moving money.`);
  });

  it('names every module a whole program added by hand changed, and none for the baseline', () => {
    const imported = candidate('cand_p', 'baseline', null, { extract: 'Extract all.', plan: 'Plan it.' }, ['extract', 'plan']);
    expect(candidateRow(imported, 60, [baseline]).module).toBe('extract,plan');
    expect(candidateRow(baseline, 60).module).toBeNull();
    // A server from before changed_modules: the module field alone.
    const old = candidate('cand_o', 'baseline', 'plan', { plan: 'Plan.' });
    expect(candidateRow(old, 60).module).toBe('plan');
  });
});

/**
 * Shortened texts are cut between characters, never inside one: a template with an emoji near the
 * cut (an operator's `# Stage 1/16 — intake 🚀 ...`) printed half of it, a lone surrogate that the
 * terminal shows as U+FFFD.
 */
describe('candidates: shortened instructions keep whole characters', () => {
  it('drops an emoji that the cut would split instead of printing half of it', () => {
    const text = `${'x'.repeat(58)}🚀 and the rest of the instruction`;
    const row = candidateRow(candidate('baseline', null, null, { main: text }), 60);
    const shown = row.instruction as string;
    expect(shown).toBe(`${'x'.repeat(58)}…`);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(shown)).toBe(false);
    const kept = candidateRow(candidate('baseline', null, null, { main: `${'x'.repeat(57)}🚀 more text here` }), 60).instruction;
    expect(kept).toBe(`${'x'.repeat(57)}🚀…`);
  });
});

/**
 * A candidate that loses more rewards than the control cannot be champion (docs/API.md, "Missing
 * rewards"). Neither `candidates` nor `jobs show` said so: a top mean that was not `best` had no
 * reason on screen, and the only trace was one event the CLI does not list.
 */
describe('miprox candidates: a candidate flagged for losing rewards', () => {
  const row = (flagged: boolean | undefined) => candidateRow({ ...candidate('cand_l', 'baseline', null, { main: 'Answer.' }), missing_rewards_flagged: flagged, missing_reward_rate: 0.7 } as Candidate);
  it('says so in its status', () => {
    expect(row(true).status).toBe('active (losing rewards)');
    expect(row(false).status).toBe('active');
    expect(row(undefined).status).toBe('active'); // an older server
  });
});
