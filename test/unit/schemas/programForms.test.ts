import { describe, expect, it } from 'vitest';
import { parseJobRequest } from '../../../src/schemas/jobRequest.js';
import { ValidationError } from '../../../src/shared/errors.js';

const MODULES = [
  { name: 'extract', template: 'Extract the entities from the query of customer {customer}.' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];

const config = (extra: Record<string, unknown>) => ({
  policy_optimization: {
    algorithm: 'mipro',
    policy: { provider: 'sim', model: 'sim-policy' },
    mipro: {
      mode: 'online', bootstrap_train_seeds: [0], online_pool: [0, 1, 2], val_seeds: [5],
      online_proposer_mode: 'inline', online_proposer_min_rollouts: 5, online_rollouts_per_candidate: 2,
      proposer: { provider: 'sim', model: 'sim-proposer' },
    },
    ...extra,
  },
});

const problems = (body: unknown) => {
  try {
    parseJobRequest(body);
  } catch (err) {
    if (err instanceof ValidationError) return err.details;
    throw err;
  }
  throw new Error('the config was accepted');
};

const CONFLICT = { path: 'policy_optimization.initial_prompt', message: expect.stringMatching(/^must not be given together with modules: initial_prompt is the one-module form/) };

/**
 * `modules` and `initial_prompt` are two forms of one declaration. A user who declares modules and
 * reaches for `initial_prompt.wildcards` (the README said a placeholder without a value is a 422
 * "unless initial_prompt.wildcards declares it OPTIONAL", without saying for which form) must hear that the two do not go together, not only that `initial_prompt.messages` is
 * required: adding messages then met the conflict as a second refusal.
 */
describe('modules beside initial_prompt', () => {
  it('names the conflict when initial_prompt holds only wildcards', () => {
    const details = problems(config({ modules: MODULES, initial_prompt: { wildcards: { context: 'OPTIONAL' } } }));
    expect(details).toContainEqual(CONFLICT);
    // The conflict says what to do about the wildcard: declared modules take none.
    expect(details.find((d) => d.path === CONFLICT.path)?.message).toMatch(/declared modules have no wildcards: send "" in mipro\.variables/);
  });

  it('names it once when both forms are whole', () => {
    const details = problems(config({ modules: MODULES, initial_prompt: { messages: [{ role: 'system', pattern: 'Classify.' }] } }));
    expect(details).toEqual([CONFLICT]);
  });

  it('leaves either form alone accepted', () => {
    expect(parseJobRequest(config({ modules: MODULES })).config.modules).toHaveLength(2);
    expect(parseJobRequest(config({ initial_prompt: { messages: [{ role: 'system', pattern: 'Hi {x}.' }], wildcards: { x: 'OPTIONAL' } } })).config.initial_prompt?.wildcards).toEqual({ x: 'OPTIONAL' });
  });
});
