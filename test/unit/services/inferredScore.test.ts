import { describe, expect, it } from 'vitest';
import { scoreOf } from '../../../src/services/rewardService.js';

/**
 * A reward without a score is 1 when metadata.expected equals metadata.predicted. The same text in
 * two Unicode forms (a composed `é` from the model, `e` + a combining accent from a label file) was
 * unequal, so a right answer scored 0, recorded for good (the rollout's first reward wins).
 */
describe('score inferred from metadata.expected and metadata.predicted', () => {
  it('compares labels in one Unicode form, trimmed and lower-cased', () => {
    expect(scoreOf(undefined, { expected: 'caf\u00e9', predicted: 'Cafe\u0301 ' })).toEqual({ value: 1, path: 'reward_info.score' });
    expect(scoreOf(undefined, { expected: '\u212b', predicted: '\u00c5' })).toEqual({ value: 1, path: 'reward_info.score' }); // Angstrom sign and A-ring
    expect(scoreOf(undefined, { expected: 'cafe', predicted: 'caf\u00e9' })).toEqual({ value: 0, path: 'reward_info.score' });
  });
});
