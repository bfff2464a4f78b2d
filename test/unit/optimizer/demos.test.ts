import { describe, expect, it } from 'vitest';
import { buildDemoPool, demoChars, demoKey, demoTurns, MAX_DEMO_SET_CHARS, MAX_DEMO_VARIABLES_CHARS, proposeDemoSet, withDemoTurns, type Demo, type PoolCall } from '../../../src/optimizer/core/demos.js';
import { chooseProposalKind, kindOf, kindStats } from '../../../src/optimizer/core/proposalKind.js';
import { buildProposerPrompt, selectReflectionRollouts } from '../../../src/optimizer/core/proposerPrompt.js';
import { createSeededRng } from '../../../src/shared/rng.js';

const call = (id: string, split: string, reward: number | null, text: string, over: Partial<PoolCall> = {}): PoolCall => ({
  rolloutId: id, split, reward, inputMessages: [{ role: 'user', content: text }], outputText: `answer to ${text}`, failed: false, toolCalls: 0, ...over,
});

describe('demo pool', () => {
  it('takes only bootstrap and online rollouts at or above the threshold, never val, monitor, failed or unrewarded', () => {
    const pool = buildDemoPool([
      call('r_boot', 'bootstrap', 1, 'boot'),
      call('r_online', 'online', 0.9, 'online'),
      call('r_val', 'val', 1, 'VAL-INPUT'),
      call('r_mon', 'monitor', 1, 'MONITOR-INPUT'),
      call('r_low', 'online', 0.5, 'low'),
      call('r_none', 'online', null, 'unrewarded'),
      call('r_failed', 'online', 1, 'failed', { failed: true }),
      call('r_noout', 'online', 1, 'no output', { outputText: null }),
    ], { minReward: 0.8 });
    expect(pool.map((d) => d.rolloutId).sort()).toEqual(['r_boot', 'r_online']);
    expect(JSON.stringify(pool)).not.toMatch(/VAL-INPUT|MONITOR-INPUT/);
  });

  it('a module running a tool loop has no demos, not even its text answers: they would only show it answering without tools', () => {
    const plain = call('r_plain', 'online', 1, 'answered directly');
    expect(buildDemoPool([plain], { minReward: 1 })).toHaveLength(1);
    // Its answers that called a tool are not read (the query keeps text answers): the store says it made some.
    expect(buildDemoPool([plain], { minReward: 1, madeToolCalls: true })).toEqual([]);
    // A call of the loop with tool turns in its input, in any of chat's forms.
    for (const turn of [
      { role: 'tool', tool_call_id: 'c1', content: 'x' },
      { role: 'function', name: 'f', content: 'x' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } },
    ]) {
      const loop = call('r_loop', 'online', 1, 'x', { inputMessages: [{ role: 'user', content: 'q' }, turn, { role: 'user', content: 'go on' }] });
      expect(buildDemoPool([plain, loop], { minReward: 1 })).toEqual([]);
    }
    expect(buildDemoPool([plain, call('r_called', 'online', 1, 'calls a tool', { outputText: 'lookup({"q":1})', toolCalls: 1 })], { minReward: 1 })).toEqual([]);
  });

  it('leaves out of a demo the app\'s own later system message its call record keeps (a RAG stage\'s passages): a demo is user and assistant turns', () => {
    const pool = buildDemoPool([
      call('r_ctx', 'online', 1, 'x', { inputMessages: [{ role: 'system', content: 'Passages: P1' }, { role: 'developer', content: 'D' }, { role: 'user', content: 'How tall?' }] }),
    ], { minReward: 1 });
    expect(pool).toEqual([{ rolloutId: 'r_ctx', input: [{ role: 'user', content: 'How tall?' }], output: 'answer to x' }]);
  });

  it('deduplicates by input, keeping the best reward, and is bounded, best first', () => {
    const calls = [call('a1', 'online', 0.8, 'same'), call('a2', 'online', 1, 'same'), ...Array.from({ length: 30 }, (_, i) => call(`b${i}`, 'online', 0.9, `q${i}`))];
    const pool = buildDemoPool(calls, { minReward: 0.8, limit: 10 });
    expect(pool).toHaveLength(10);
    expect(pool[0]!.rolloutId).toBe('a2');
    expect(pool.filter((d) => d.input[0]!.content === 'same')).toHaveLength(1);
  });

  it('keeps only calls that make a demo anyone could import back: text in every turn, a user turn first and last, no NUL, half an emoji as U+FFFD', () => {
    const pool = buildDemoPool([
      call('r_cut', 'online', 1, 'Query \ud83d', { outputText: 'label \ud83d' }),
      call('r_empty_turn', 'online', 1, 'x', { inputMessages: [{ role: 'user', content: ' ' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'q' }] }),
      call('r_prefill', 'online', 1, 'x', { inputMessages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'Sure,' }] }),
      // An app's greeting first: injected, it would follow the previous demo's answer or open the conversation.
      call('r_greeting', 'online', 1, 'x', { inputMessages: [{ role: 'assistant', content: 'Hi, how can I help?' }, { role: 'user', content: 'q' }] }),
      call('r_blank_answer', 'online', 1, 'blank', { outputText: '  ' }),
      call('r_nul', 'online', 1, 'text \u0000 nul'),
    ], { minReward: 1 });
    expect(pool).toEqual([{ rolloutId: 'r_cut', input: [{ role: 'user', content: 'Query \ufffd' }], output: 'label \ufffd' }]);
  });

  it('a templated module\'s demo carries its call\'s value of each placeholder in template order; a call without them all, or with too much, is no demo', () => {
    const ctx = (id: string, q: string, variables: PoolCall['variables']) => call(id, 'online', 1, q, { variables });
    const pool = buildDemoPool([
      ctx('r_ok', 'Q1', { question_type: 'who', context: 'CONTEXT-1' }),
      // The same turns under another context are another example, not a duplicate.
      ctx('r_other_ctx', 'Q1', { context: 'CONTEXT-2', question_type: 'who' }),
      ctx('r_none', 'Q3', null),
      ctx('r_missing', 'Q4', { context: 'CONTEXT-4' }),
      ctx('r_big', 'Q5', { context: 'x'.repeat(MAX_DEMO_VARIABLES_CHARS), question_type: 'y' }),
      ctx('r_cut', 'Q6', { context: 'half \ud83d', question_type: 'what' }),
    ], { minReward: 1, placeholders: ['context', 'question_type'] });
    expect(pool.map((d) => [d.rolloutId, d.variables])).toEqual([
      ['r_ok', { context: 'CONTEXT-1', question_type: 'who' }],
      ['r_other_ctx', { context: 'CONTEXT-2', question_type: 'who' }],
      ['r_cut', { context: 'half \ufffd', question_type: 'what' }],
    ]);
    expect(pool.map((d) => Object.keys(d.variables!))).toEqual([['context', 'question_type'], ['context', 'question_type'], ['context', 'question_type']]);
    // At the cap exactly it is a demo; a plain module's demo has no variables field at all.
    expect(buildDemoPool([ctx('r_cap', 'Q', { context: 'x'.repeat(MAX_DEMO_VARIABLES_CHARS) })], { minReward: 1, placeholders: ['context'] })).toHaveLength(1);
    expect(buildDemoPool([ctx('r_plain', 'Q', { context: 'ignored' })], { minReward: 1 })).toEqual([{ rolloutId: 'r_plain', input: [{ role: 'user', content: 'Q' }], output: 'answer to Q' }]);
  });

  it('reads text parts as text', () => {
    const pool = buildDemoPool([call('p', 'online', 1, '', { inputMessages: [{ role: 'user', content: [{ type: 'text', text: 'he' }, { type: 'text', text: 'llo' }] }] })], { minReward: 1 });
    expect(pool[0]!.input).toEqual([{ role: 'user', content: 'hello' }]);
  });
});

const demo = (id: string, q: string, a: string): Demo => ({ rolloutId: id, input: [{ role: 'user', content: q }], output: a });
const turn = (t: { role: string; content: string }) => ({ role: t.role, content: t.content });

describe('demo injection', () => {
  const demos = [demo('d1', 'Q1', 'A1'), demo('d2', 'Q2', 'A2')];

  it('puts demo turns right after the system text and before the client conversation', () => {
    const out = withDemoTurns([{ role: 'system', content: 'SYS' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }, { role: 'user', content: 'go' }], demos, turn);
    expect(out.map((m) => `${m.role}:${m.content}`)).toEqual([
      'system:SYS', 'user:Q1', 'assistant:A1', 'user:Q2', 'assistant:A2', 'user:hi', 'assistant:yo', 'user:go',
    ]);
  });

  it('keeps every leading system/developer message first, and goes first when there is none (Responses/Messages)', () => {
    expect(withDemoTurns([{ role: 'developer', content: 'DEV' }, { role: 'user', content: 'x' }], demos, turn)[1]).toEqual({ role: 'user', content: 'Q1' });
    expect(withDemoTurns([{ role: 'user', content: 'x' }], demos, turn).map((m) => m.content)).toEqual(['Q1', 'A1', 'Q2', 'A2', 'x']);
  });

  it('never shows a call a demo of its own input', () => {
    const out = withDemoTurns([{ role: 'system', content: 'S' }, { role: 'user', content: 'Q2' }], demos, turn);
    expect(out.map((m) => m.content)).toEqual(['S', 'Q1', 'A1', 'Q2']);
  });

  it('knows its own input also when the call carries a system message of the app\'s after a turn (as the demo pool, which leaves those out)', () => {
    const out = withDemoTurns([{ role: 'system', content: 'S' }, { role: 'user', content: 'Q2' }, { role: 'system', content: 'CTX' }], demos, turn);
    expect(out.map((m) => m.content)).toEqual(['S', 'Q1', 'A1', 'Q2', 'CTX']);
  });

  it('shows a demo\'s own variables as labelled blocks at the head of its first user turn, in order, and leaves a plain demo as it was', () => {
    const templated: Demo = {
      rolloutId: 'd3', output: 'A3', variables: { context: 'CTX-3', style: '' },
      input: [{ role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Q3' }, { role: 'assistant', content: 'mid' }, { role: 'user', content: 'Q3b' }],
    };
    const out = withDemoTurns([{ role: 'system', content: 'S' }, { role: 'user', content: 'go' }], [demos[0]!, templated], turn);
    expect(out).toEqual([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' },
      { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'context:\nCTX-3\n\nstyle:\n\n\nQ3' }, { role: 'assistant', content: 'mid' }, { role: 'user', content: 'Q3b' },
      { role: 'assistant', content: 'A3' },
      { role: 'user', content: 'go' },
    ]);
    // The call's own input is still told by its turns, whatever the demo's values.
    expect(withDemoTurns([{ role: 'user', content: 'Q1' }], [{ ...demos[0]!, variables: { context: 'other' } }], turn)).toEqual([{ role: 'user', content: 'Q1' }]);
  });

  it('renders a set the same as demoTurns (export uses it)', () => {
    expect(withDemoTurns([], demos, turn)).toEqual(demoTurns(demos));
    expect(withDemoTurns([{ role: 'user', content: 'x' }], [], turn)).toEqual([{ role: 'user', content: 'x' }]);
  });
});

describe('demo-set proposals', () => {
  const pool = Array.from({ length: 8 }, (_, i) => demo(`p${i}`, `q${i}`, `a${i}`));

  it('draws at most max_demos distinct pool demos, and never a set already held', () => {
    const rng = createSeededRng(7);
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) {
      const existing = seen.map((k) => k.split('|').map((id) => pool.find((d) => d.rolloutId === id)!));
      const set = proposeDemoSet({ pool, parent: existing[0] ?? [], existing, maxDemos: 3 }, rng);
      if (!set) continue;
      expect(set.length).toBeLessThanOrEqual(3);
      expect(new Set(set.map((d) => d.rolloutId)).size).toBe(set.length);
      for (const d of set) expect(pool).toContain(d);
      const key = set.map((d) => d.rolloutId).join('|');
      expect(seen).not.toContain(key);
      seen.push(key);
    }
    expect(seen.length).toBeGreaterThan(10);
  });

  it('tells apart demos of one rollout (a module called several times): they can be swapped in and make new sets', () => {
    // Four calls of one rollout, each its own demo: they all carry that rollout's id.
    const sameRollout = Array.from({ length: 4 }, (_, i) => ({ ...demo('r1', `q${i}`, `a${i}`), variables: { context: `C${i}` } }));
    const rng = createSeededRng(3);
    const sets: Demo[][] = [];
    for (let i = 0; i < 20; i++) {
      const set = proposeDemoSet({ pool: sameRollout, parent: sets[0] ?? [], existing: sets, maxDemos: 2 }, rng);
      if (set) sets.push(set);
    }
    // Every 2-demo set of 4 demos (12 ordered pairs) can come up; keyed by rollout id, only the first was ever new.
    expect(sets.length).toBeGreaterThan(3);
    expect(new Set(sets.map((set) => set.map((d) => d.variables!.context).join('|'))).size).toBe(sets.length);
  });

  it('keeps a proposed set within MAX_DEMO_SET_CHARS, whatever max_demos allows', () => {
    const large = Array.from({ length: 16 }, (_, i) => ({ ...demo(`L${i}`, `${i}`.padEnd(4000, 'q'), 'a'.repeat(4000)), variables: { context: 'c'.repeat(8000) } }));
    const rng = createSeededRng(2);
    for (let i = 0; i < 20; i++) {
      const set = proposeDemoSet({ pool: large, parent: [], existing: [], maxDemos: 16 }, rng)!;
      expect(set.length).toBe(2);
      expect(set.reduce((n, d) => n + demoChars(d), 0)).toBeLessThanOrEqual(MAX_DEMO_SET_CHARS);
    }
  });

  it('takes a demo with empty variables and one without as the same demo (a set of either is already held)', () => {
    const plain = [demo('p0', 'q0', 'a0'), demo('p1', 'q1', 'a1')];
    const empty = plain.map((d) => ({ ...d, variables: {} }));
    expect(demoKey(empty[0]!)).toBe(demoKey(plain[0]!));
    expect(demoKey({ ...plain[0]!, variables: { context: 'C' } })).not.toBe(demoKey(plain[0]!));
    // Every 2-demo set of this pool is held (in both orders) under the other spelling: none is new.
    const held = [empty, [...empty].reverse()];
    for (let seed = 0; seed < 10; seed++) expect(proposeDemoSet({ pool: plain, parent: held[0]!, existing: held, maxDemos: 2 }, createSeededRng(seed))).toBeNull();
  });

  it('proposes nothing from an empty pool or with max_demos 0', () => {
    expect(proposeDemoSet({ pool: [], parent: [], existing: [], maxDemos: 4 }, createSeededRng(1))).toBeNull();
    expect(proposeDemoSet({ pool, parent: [], existing: [], maxDemos: 0 }, createSeededRng(1))).toBeNull();
  });
});

describe('proposal kind (the three modes)', () => {
  const none = { instruction: { wins: 0, losses: 0 }, demos: { wins: 0, losses: 0 } };
  it('instruction_only always writes instructions; demos_only only demo sets, none without a pool', () => {
    const rng = createSeededRng(3);
    expect(chooseProposalKind({ mode: 'instruction_only', poolSize: 10, maxDemos: 4, stats: none }, rng)).toBe('instruction');
    expect(chooseProposalKind({ mode: 'demos_only', poolSize: 10, maxDemos: 4, stats: none }, rng)).toBe('demos');
    expect(chooseProposalKind({ mode: 'demos_only', poolSize: 0, maxDemos: 4, stats: none }, rng)).toBeNull();
    expect(chooseProposalKind({ mode: 'demos_only', poolSize: 5, maxDemos: 0, stats: none }, rng)).toBeNull();
  });

  it('instruction_and_demos tries both, leans to the kind whose children beat their parents, and writes instructions without a pool', () => {
    const rng = createSeededRng(5);
    const draws = (stats: typeof none) => Array.from({ length: 400 }, () => chooseProposalKind({ mode: 'instruction_and_demos', poolSize: 5, maxDemos: 4, stats }, rng));
    const even = draws(none).filter((k) => k === 'demos').length;
    expect(even).toBeGreaterThan(120);
    expect(even).toBeLessThan(280);
    const demosWin = draws({ instruction: { wins: 0, losses: 6 }, demos: { wins: 6, losses: 0 } }).filter((k) => k === 'demos').length;
    expect(demosWin).toBeGreaterThan(340);
    expect(chooseProposalKind({ mode: 'instruction_and_demos', poolSize: 0, maxDemos: 4, stats: none }, rng)).toBe('instruction');
  });

  it('tells a child kind from what differs from its parent, and counts outcomes from online stats only', () => {
    const parent = { instructions: { m: 'A' }, demos: { m: [{ rolloutId: 'x' }] } };
    expect(kindOf({ module: 'm', instructions: { m: 'A' }, demos: { m: [{ rolloutId: 'y' }] } }, parent)).toBe('demos');
    expect(kindOf({ module: 'm', instructions: { m: 'B' }, demos: { m: [{ rolloutId: 'x' }] } }, parent)).toBe('instruction');
    const s = kindStats([
      { kind: 'demos', stats: { n: 5, mean: 0.9, m2: 0 }, parentStats: { n: 50, mean: 0.5, m2: 0 } },
      { kind: 'instruction', stats: { n: 5, mean: 0.1, m2: 0 }, parentStats: { n: 50, mean: 0.5, m2: 0 } },
      { kind: 'instruction', stats: { n: 1, mean: 1, m2: 0 }, parentStats: { n: 50, mean: 0.5, m2: 0 } },
    ], 5);
    expect(s).toEqual({ demos: { wins: 1, losses: 0 }, instruction: { wins: 0, losses: 1 } });
  });
});

describe('feedback in the proposer prompt', () => {
  it('shows each rollout feedback beside it, and never a val rollout or its feedback', () => {
    const { worst, best } = selectReflectionRollouts([
      { split: 'online', input: 'in-1', output: 'out-1', reward: 0, feedback: 'FEEDBACK-ONLINE: wrong label, the ticket mentions a refund' },
      { split: 'online', input: 'in-2', output: 'out-2', reward: 1, feedback: null },
      { split: 'val', input: 'VAL-IN', output: 'VAL-OUT', reward: 0, feedback: 'VAL-FEEDBACK-SECRET' },
    ]);
    const prompt = buildProposerPrompt({
      datasetSummary: null, programDescription: 'Label it.', parent: { instruction: 'Label it.', n: 3, mean: 0.5, ci: [0, 1] },
      worstRollouts: worst, bestRollouts: best, history: [], tip: 'none', instructionsPerBatch: 1,
    }).map((m) => m.content).join('\n');
    expect(prompt).toContain('Feedback from the program (why it scored so; use it to find the cause):');
    expect(prompt).toContain('FEEDBACK-ONLINE: wrong label');
    expect(prompt).not.toContain('VAL-FEEDBACK-SECRET');
    expect(prompt).not.toContain('VAL-IN');
  });
});
