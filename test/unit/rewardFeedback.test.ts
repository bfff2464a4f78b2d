import { describe, expect, it } from 'vitest';
import { RewardRequestSchema } from '../../src/schemas/reward.js';

describe('reward feedback text', () => {
  it('takes feedback cut mid-emoji at the limit (slice(0, 4000)), storing the half as U+FFFD', () => {
    const cut = `${'x'.repeat(3999)}😀`.slice(0, 4000); // ends in a lone high surrogate
    const parsed = RewardRequestSchema.safeParse({ rollout_id: 'r1', reward_info: { score: 1, feedback: cut, feedback_by_module: { main: 'bad \ud83d' } } });
    expect(parsed.success).toBe(true);
    const info = parsed.data!.reward_info as { feedback: string; feedback_by_module: Record<string, string> };
    expect(info.feedback).toBe(`${'x'.repeat(3999)}\ufffd`);
    expect(info.feedback_by_module.main).toBe('bad \ufffd');
    // A NUL is still refused (PostgreSQL text cannot hold it).
    expect(RewardRequestSchema.safeParse({ rollout_id: 'r1', reward_info: { score: 1, feedback: 'a\u0000b' } }).success).toBe(false);
  });
});

describe('reward body problems', () => {
  it('names a misspelt feedback key beside a feedback of the wrong type (SPEC.md: every bad field)', () => {
    const parsed = RewardRequestSchema.safeParse({ candidate_id: 'baseline', reward_info: { score: 1, feedback: 5, feedbak: 'x' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['reward_info.feedback', 'reward_info.feedbak']));
  });
});
