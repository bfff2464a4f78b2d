import { describe, expect, it } from 'vitest';
import { createBankingTask, createSimProvider, isProposerSimModel } from '../../../src/providers/sim/index.js';

const task = createBankingTask();
const messages = [
  { role: 'system', content: `Current instruction:\n${task.baselineInstruction}` },
  { role: 'user', content: task.userMessage(0) },
];

describe('createSimProvider', () => {
  it('picks the proposer simulator for sim-proposer and the policy simulator otherwise', async () => {
    const proposer = createSimProvider({ provider: 'sim', model: 'sim-proposer' });
    const policy = createSimProvider({ provider: 'sim', model: 'sim-policy' });
    const unknown = createSimProvider({ provider: 'sim', model: 'some-other-sim' });
    expect([proposer.kind, policy.kind, unknown.kind]).toEqual(['sim', 'sim', 'sim']);

    const proposal = await proposer.complete({ model: 'sim-proposer', messages });
    expect(JSON.parse(proposal.json.choices[0]?.message.content ?? '{}')).toHaveProperty('instructions');

    for (const [provider, model] of [[policy, 'sim-policy'], [unknown, 'some-other-sim']] as const) {
      const res = await provider.complete({ model, messages, seed: 1 });
      const content = res.json.choices[0]?.message.content ?? '';
      expect(() => JSON.parse(content)).toThrow();
      expect(res.json.model).toBe(`${model} (simulator)`);
    }
  });

  it('matches proposer model names', () => {
    expect(isProposerSimModel('sim-proposer')).toBe(true);
    expect(isProposerSimModel('SIM_proposer-v2')).toBe(true);
    expect(isProposerSimModel('sim-policy')).toBe(false);
    expect(isProposerSimModel('gpt-4o-mini')).toBe(false);
  });
});
