import { describe, expect, it } from 'vitest';
import { buildDemoPool, demoProblem, MAX_DEMO_TURNS, type PoolCall } from '../../../src/optimizer/core/demos.js';

/** A conversation of `n` one-character turns opening and ending on a user turn (n odd). */
const turns = (n: number) => Array.from({ length: n }, (_, k) => ({ role: k % 2 ? 'assistant' as const : 'user' as const, content: k === 0 ? 'question' : 'a' }));

/**
 * The character caps bound a demo's text, not its turns: a call of 4,000 one-character turns was a
 * demo, and a set of such demos sent about 30,000 messages with every call of the module.
 */
describe('demo turns', () => {
  it('a call with more than MAX_DEMO_TURNS input turns is no demo; one with that many is', () => {
    const call = (id: string, n: number): PoolCall => ({ rolloutId: id, split: 'online', reward: 1, inputMessages: turns(n), outputText: 'answer', failed: false, toolCalls: 0 });
    expect(MAX_DEMO_TURNS).toBe(64);
    const pool = buildDemoPool([call('r_long', 3999), call('r_over', 65), call('r_ok', 63)], { minReward: 1 });
    expect(pool.map((d) => d.rolloutId)).toEqual(['r_ok']);
    expect(demoProblem(turns(65), 'answer')).toBe('must hold at most 64 input turns (it has 65): every demo is sent with every call of its module');
    expect(demoProblem(turns(63), 'answer')).toBeNull();
  });
});
