import { describe, expect, it } from 'vitest';
import { eventText } from '../../web/src/components/eventLog.js';

const reward = (value: number) => ({
  event_type: 'mipro.reward.received',
  message: `reward ${value} for cand_a`,
  data: { rollout_id: 'r1', candidate_id: 'cand_a', reward: value, split: 'online', seed: 3 },
});

describe('event log: a reward read against the job\'s range', () => {
  it('writes a reward with its range, as the rollout page does ("7.00 of 0–10")', () => {
    expect(eventText(reward(7), [0, 10])).toBe('reward 7.00 of 0–10 for cand_a');
    expect(eventText(reward(0.5), [0, 1])).toBe('reward 0.500 of 0–1 for cand_a');
    expect(eventText(reward(-2), [-10, 0])).toBe('reward −2.00 of −10–0 for cand_a');
  });

  it('keeps the server\'s message for other events, or a reward without its score or range', () => {
    expect(eventText(reward(7), null)).toBe('reward 7 for cand_a');
    expect(eventText({ ...reward(7), data: { rollout_id: 'r1' } }, [0, 10])).toBe('reward 7 for cand_a');
    expect(eventText({ event_type: 'mipro.best.changed', message: 'best candidate is now cand_a', data: { candidate_id: 'cand_a', mean: 0.7 } }, [0, 10])).toBe('best candidate is now cand_a');
  });
});
