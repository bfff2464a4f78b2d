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
    // A demo-set child keeps its parent's text: shown from its start, not its last words.
    const demoChild = candidate('cand_d', 'cand_a', 'plan', { ...childA.instructions }, ['plan']);
    expect(candidateRow(demoChild, 60, [childA, demoChild]).instruction).toBe(`${OPENING.slice(0, 59)}…`);
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
