import { describe, expect, it } from 'vitest';
import { modelsFrom } from '../../../src/cli/demoCommand.js';

/** `miprox demo --proposer-model M` was accepted and ignored with the default provider (sim). */
describe('miprox demo: models from the flags', () => {
  it('takes --model and --proposer-model with the simulator too', () => {
    expect(modelsFrom({ provider: 'sim' })).toEqual({ provider: 'sim', model: 'sim-policy', proposerModel: 'sim-proposer' });
    expect(modelsFrom({ provider: 'sim', proposerModel: 'sim-proposer-v2' })).toEqual({ provider: 'sim', model: 'sim-policy', proposerModel: 'sim-proposer-v2' });
    expect(modelsFrom({ provider: 'sim', model: 'sim-policy-2' })).toEqual({ provider: 'sim', model: 'sim-policy-2', proposerModel: 'sim-proposer' });
  });

  it('defaults the proposer to the policy model on a real provider', () => {
    expect(modelsFrom({ provider: 'openai', model: 'gpt-4o-mini' })).toMatchObject({ model: 'gpt-4o-mini', proposerModel: 'gpt-4o-mini' });
  });
});
